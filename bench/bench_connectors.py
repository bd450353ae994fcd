#!/usr/bin/env python3
"""Gateways' throughput, cvmd against the peers named in the issue, in the same run:

- email: cvmd's SMTP connector (bench_connectors: dispatcher, N connections kept open)
  against Postfix's smtp-source with the same message count, size and number of parallel
  sessions (-d: several messages per connection, like cvmd), both to one smtp-sink on
  loopback; then again to an smtp-sink that does not offer PIPELINING (-p), where cvmd waits
  for each reply like smtp-source (which never pipelines);
- SMS: cvmd's Kannel connector through bearerbox + smsbox to fakesmsc, accepted per
  second, and the time until fakesmsc has seen every message.

usage: bench/bench_connectors.py BUILD_DIR [EMAILS] [CONCURRENCIES] [BODY_BYTES] [SMS]
(CONCURRENCIES: comma-separated, e.g. 1,2,4; each is run twice, peer and cvmd in turn)"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

here = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "tests" / "connectors"))
import servers  # noqa: E402

build = pathlib.Path(sys.argv[1])
emails = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
concurrencies = [int(c) for c in (sys.argv[3] if len(sys.argv) > 3 else "1,2,4").split(",")]
body = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
sms = int(sys.argv[5]) if len(sys.argv) > 5 else 2000
tool = build / "bench" / "bench_connectors"


def timed(command):
    started = time.time()
    r = subprocess.run(command, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {r.stdout}{r.stderr}")
    return time.time() - started, r.stdout.strip()


def email_rounds(sink_options, label):
    sink = servers.SmtpSink(*sink_options)
    try:
        for concurrency, run in [(c, r) for c in concurrencies for r in range(2)]:
            peer, _ = timed(["smtp-source", "-d", "-s", str(concurrency), "-m", str(emails), "-l", str(body),
                             "-f", "bench@shop.example", "-t", "customer@x.example", f"127.0.0.1:{sink.port}"])
            ours, said = timed([str(tool), "smtp", f"smtp://127.0.0.1:{sink.port}", str(emails), str(concurrency),
                                str(body)])
            print(f"email ({label}), {concurrency} sessions, run {run + 1}: smtp-source {emails / peer:.0f}/s "
                  f"({peer:.2f} s), cvmd {emails / ours:.0f}/s ({ours:.2f} s): "
                  f"{emails / ours / (emails / peer):.2f} of the peer's rate  [{said}]")
    finally:
        sink.close()


with tempfile.TemporaryDirectory() as work:
    email_rounds((), "pipelining offered")
    email_rounds(("-p",), "no pipelining")

    kannel = servers.Kannel(work)
    try:
        ours, said = timed([str(tool), "kannel", kannel.sendsms_url(), str(sms), str(max(concurrencies)), "120"])
        started = time.time()
        while len(kannel.received()) < sms and time.time() - started < 600:
            time.sleep(0.2)
        print(f"sms: {sms} accepted by smsbox in {ours:.2f} s ({sms / ours:.0f}/s); fakesmsc had "
              f"{len(kannel.received())} of them {time.time() - started + ours:.2f} s after the start  [{said}]")
    finally:
        kannel.close()
