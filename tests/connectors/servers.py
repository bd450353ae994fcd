"""Real peers for the connector tests, started on free loopback ports and stopped again:
a capturing SMTP server (aiosmtpd, Maildir), Postfix's smtp-sink, Kannel (bearerbox +
smsbox with fakesmsc as the SMSC), and a small HTTP server that records what it gets."""
import base64
import hashlib
import hmac
import http.server
import json
import mailbox
import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse

DEBIAN_PYTHON = "/usr/bin/python3"  # where Debian's python3-aiosmtpd lives


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process=None, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def stop(process):
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class CapturingSmtp:
    """aiosmtpd storing every mail in a Maildir."""

    def __init__(self, directory):
        self.port = free_port()
        self.maildir = pathlib.Path(directory) / "maildir"
        self.process = subprocess.Popen(
            [DEBIAN_PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process)

    def messages(self):
        if not self.maildir.exists():
            return []
        box = mailbox.Maildir(self.maildir, factory=None, create=False)
        return [bytes(m) for m in box]

    def close(self):
        stop(self.process)


class SmtpSink:
    """Postfix's smtp-sink; `options` such as ["-r", "RCPT"] make it refuse."""

    def __init__(self, *options):
        self.port = free_port()
        user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
        self.process = subprocess.Popen(["smtp-sink", *user, *options, f"127.0.0.1:{self.port}", "256"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process)

    def close(self):
        stop(self.process)


class ScriptedSmtp:
    """An SMTP server in a thread that says what a test needs: PIPELINING offered or not,
    recipients refused (`refuse`: address -> reply), a DATA let through after a refused
    recipient (`lenient`, as some servers do), idle connections closed after `idle_close`
    seconds, multi-line replies. It records every chunk it reads per connection, the
    commands, and the messages it accepted (dot-stuffing undone)."""

    def __init__(self, pipelining=True, refuse=None, lenient=False, idle_close=None, line_end=b"\r\n",
                 smtputf8=False, after=None, final_reply=None, close_on_refused_data=False, size=False):
        """`after`: (N, what) - once N messages went on a connection, "421" answers the next
        MAIL and closes it, or "hang" lets the next MAIL go unanswered."""
        self.pipelining, self.refuse, self.lenient, self.idle_close = pipelining, refuse or {}, lenient, idle_close
        self.line_end, self.smtputf8, self.after, self.final_reply = line_end, smtputf8, after, final_reply
        self.close_on_refused_data, self.size = close_on_refused_data, size
        self.chunks, self.commands, self.messages, self.connections = [], [], [], 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn, number):
        conn.settimeout(self.idle_close)
        buffer, recipients, data, sent_here, refused_here = b"", [], None, 0, False

        def say(reply):
            conn.sendall(reply.replace(b"\r\n", self.line_end))
        try:
            say(b"220 scripted ESMTP\r\n")
            while True:
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    return  # closed without a word, like a server tired of waiting
                if not chunk:
                    return
                with self.lock:
                    self.chunks.append((number, chunk))
                buffer += chunk
                while b"\r\n" in buffer:
                    line, buffer = buffer.split(b"\r\n", 1)
                    if data is not None:
                        if line == b".":
                            if recipients:
                                with self.lock:
                                    self.messages.append((recipients, b"\r\n".join(data)))
                                    queued = len(self.messages)
                                sent_here += 1
                                say(self.final_reply or b"250-2.0.0 Ok\r\n250 2.0.0 Ok: queued as S%d\r\n" % queued)
                            else:
                                say(b"554 5.5.1 no valid recipients\r\n")
                            data, recipients = None, []
                        else:
                            data.append(line[1:] if line.startswith(b".") else line)
                        continue
                    text = line.decode("utf-8", "replace")
                    verb = text.split(" ")[0].split(":")[0].upper()
                    with self.lock:
                        self.commands.append((number, text))
                    if verb in ("EHLO", "HELO"):
                        say(b"250-scripted\r\n" + (b"250-PIPELINING\r\n" if self.pipelining else b"") +
                            (b"250-SMTPUTF8\r\n" if self.smtputf8 else b"") +
                            (b"250-SIZE 10240000\r\n" if self.size else b"") + b"250 8BITMIME\r\n")
                    elif verb == "MAIL" and self.after and sent_here >= self.after[0]:
                        if self.after[1] == "421":
                            say(b"421 4.4.2 scripted: closing, idle too long\r\n")
                            return
                        # "hang": never answers on this connection again
                        while conn.recv(65536):
                            pass
                        return
                    elif verb == "MAIL":
                        recipients, refused_here = [], False
                        say(b"250 2.1.0 Ok\r\n")
                    elif verb == "RCPT":
                        address = text[text.index("<") + 1:text.index(">")]
                        if address in self.refuse:
                            refused_here = True
                            say(self.refuse[address].encode() + b"\r\n")
                        else:
                            recipients.append(address)
                            say(b"250 2.1.5 Ok\r\n")
                    elif verb == "DATA":
                        if refused_here and self.close_on_refused_data:
                            return
                        if recipients or self.lenient:
                            data = []
                            say(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        else:
                            say(b"554 5.5.1 no valid recipients\r\n")
                    elif verb == "RSET":
                        recipients = []
                        say(b"250 2.0.0 Ok\r\n")
                    elif verb == "QUIT":
                        say(b"221 2.0.0 Bye\r\n")
                        return
                    else:
                        say(b"502 5.5.2 command not recognized\r\n")
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.sock.close()


class RawServer:
    """A TCP server that answers every connection with `greeting` and then reads forever
    (None: says nothing at all, a gateway that hangs)."""

    def __init__(self, greeting):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.greeting = greeting
        self.connections = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            if self.greeting is not None:
                try:
                    conn.sendall(self.greeting)
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        for c in self.connections:
            c.close()


class RecordingHttp:
    """Records each request (method, path, headers, body) and answers with the next of
    `answers` [(status, body)], repeating the last."""

    def __init__(self, answers=((200, "{}"),)):
        self.requests = []
        self.answers = list(answers)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append({"method": self.command, "path": self.path,
                                       "headers": dict(self.headers), "body": body})
                status, text = outer.answers[0] if len(outer.answers) == 1 else outer.answers.pop(0)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Kannel:
    """bearerbox + smsbox with fakesmsc as the SMSC; `received()` lists the SMS fakesmsc
    got, text decoded."""

    def __init__(self, directory, user="cvmd", password="kannel-secret"):
        self.dir = pathlib.Path(directory) / "kannel"
        self.dir.mkdir()
        self.admin, self.box, self.smsc, self.sendsms = (free_port() for _ in range(4))
        self.user, self.password = user, password
        conf = self.dir / "kannel.conf"
        conf.write_text(f"""group = core
admin-port = {self.admin}
admin-password = admin
smsbox-port = {self.box}
log-file = "{self.dir}/bearerbox.log"
log-level = 1
box-allow-ip = 127.0.0.1
access-log = "{self.dir}/access.log"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {self.sendsms}
global-sender = 12345
log-file = "{self.dir}/smsbox.log"
log-level = 1

group = sendsms-user
username = {user}
password = {password}
max-messages = 10
concatenation = true
""")
        self.bearerbox = subprocess.Popen(["bearerbox", str(conf)], cwd=self.dir,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.box, self.bearerbox)
        self.smsbox = subprocess.Popen(["smsbox", str(conf)], cwd=self.dir,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.sendsms, self.smsbox)
        # fakesmsc exits when its input closes: give it one that stays open.
        self.feeder = subprocess.Popen(["sleep", "3600"], stdout=subprocess.PIPE)
        self.out = open(self.dir / "fakesmsc.out", "wb")
        self.fakesmsc = subprocess.Popen(["/usr/lib/kannel/test/fakesmsc", "-H", "127.0.0.1", "-r", str(self.smsc),
                                          "-i", "0.1", "-m", "0", "1 2 text unused"],
                                         stdin=self.feeder.stdout, stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while "FAKE:" not in self._status() or "(online" not in self._status():
            if time.time() > deadline:
                raise RuntimeError("Kannel's fake SMSC did not come online:\n" + self._status())
            time.sleep(0.2)

    def _status(self):
        try:
            with socket.create_connection(("127.0.0.1", self.admin), timeout=1) as s:
                s.sendall(b"GET /status.txt?password=admin HTTP/1.0\r\n\r\n")
                return s.recv(65536).decode(errors="replace")
        except OSError:
            return ""

    def sendsms_url(self):
        return f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms"

    def received(self):
        """[(sender, receiver, text)] from fakesmsc's 'Got message N: <from to coding text>'."""
        out = []
        text = (self.dir / "fakesmsc.out").read_bytes().decode(errors="replace")
        for line in text.splitlines():
            if "Got message" not in line:
                continue
            body = line.split(": <", 1)[1].rsplit(">", 1)[0]
            sender, receiver, kind, payload = body.split(" ", 3)
            if kind == "text":
                out.append((sender, receiver, payload))
            else:  # ucs-2 or data: URL-encoded bytes
                raw = urllib.parse.unquote_to_bytes(payload.replace("+", "%20"))
                out.append((sender, receiver, raw.decode("utf-16-be") if kind == "ucs-2" else raw.decode()))
        return out

    def close(self):
        for p in (self.fakesmsc, self.feeder, self.smsbox, self.bearerbox):
            stop(p)
        self.out.close()


def verify_link(url, public_url, secret):
    """The claim of a signed link, checked here independently of cvmd: kind, key, customer,
    channel, target. Raises ValueError for a bad signature."""
    assert url.startswith(public_url + "/"), url
    token = url[len(public_url) + 1:].split("/", 1)[1].split("?", 1)[0]
    payload_b64, mac_b64 = token.split(".")
    unpad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    payload, mac = unpad(payload_b64), unpad(mac_b64)
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        raise ValueError("bad signature")
    version, kind, key, customer, channel, target = payload.decode().split("\x1f")
    assert version == "v1"
    return {"kind": kind, "key": key, "customer": customer, "channel": channel, "url": target}


class TlsSmtp:
    """aiosmtpd with TLS (STARTTLS required, or implicit for smtps) and AUTH required; a
    self-signed certificate made here, for the connector's ca_file."""

    def __init__(self, directory, mode, user="mailer", password="smtp-secret"):
        self.dir = pathlib.Path(directory)
        self.cert, self.key = self.dir / f"{mode}-cert.pem", self.dir / f"{mode}-key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                        "-keyout", str(self.key), "-out", str(self.cert), "-days", "2",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        self.port = free_port()
        self.log = self.dir / f"{mode}.log"
        self.process = subprocess.Popen(
            [DEBIAN_PYTHON, str(pathlib.Path(__file__).with_name("tls_smtp_server.py")), str(self.port), mode,
             str(self.cert), str(self.key), user, password, str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process)

    def events(self, kind):
        if not self.log.exists():
            return []
        return [e for e in map(json.loads, self.log.read_text().splitlines()) if e["event"] == kind]

    def close(self):
        stop(self.process)
