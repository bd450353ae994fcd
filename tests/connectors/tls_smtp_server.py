"""An SMTP server with TLS and AUTH for the tests (aiosmtpd's API): STARTTLS required or
implicit TLS (smtps), AUTH PLAIN/LOGIN required, PIPELINING offered, and a log line per received message with
the client's address, so a test can see that one connection carried many messages.

usage: tls_smtp_server.py PORT starttls|smtps CERT KEY USER PASSWORD LOG"""
import json
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, mode, cert, key, user, password, log = sys.argv[1:8]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
lock = threading.Lock()


def write(entry):
    with lock, open(log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    write({"event": "auth", "ok": ok, "mechanism": mechanism})
    return AuthResult(success=ok, handled=False)


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads commands line by line, so it takes pipelined ones; it only does not
        # say so. Saying it puts cvmd's pipelined transaction over TLS and AUTH to the test.
        session.host_name = hostname
        return responses[:1] + ["250-PIPELINING"] + responses[1:]

    async def handle_DATA(self, server, session, envelope):
        write({"event": "message", "peer": list(session.peer), "tls": session.ssl is not None,
               "authenticated": session.authenticated, "to": envelope.rcpt_tos,
               "data": envelope.content.decode("utf-8", "replace")})
        return "250 2.0.0 Ok: queued as Q" + str(abs(hash(envelope.content)) % 100000)


options = dict(authenticator=authenticator, auth_required=True, auth_require_tls=True)
if mode == "starttls":
    controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), tls_context=context,
                            require_starttls=True, **options)
else:
    # aiosmtpd does not count implicit TLS as TLS for AUTH: the whole session is TLS anyway.
    options["auth_require_tls"] = False
    controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), ssl_context=context, **options)
controller.start()
threading.Event().wait()
