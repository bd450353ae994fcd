"""Crash safety of the daemon: `cvmd serve` is killed with SIGKILL at random moments, twenty
times, while it dispatches 10,000 planned emails to a capturing SMTP server and takes events
over HTTP. After the last restart every planned message has arrived, each message key once
when counted by its idempotency header (X-Cvmd-Key: what a receiver deduplicates on), and
every event acknowledged with a 2xx is in the store."""
import email.parser
import json
import mailbox
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import servers
from shop import Shop

CVMD = sys.argv.pop(1) if len(sys.argv) > 1 else "cvmd"
CUSTOMERS = 10_000
KILLS = 20
TOKEN = "crash-test-token-0123456789"


class CrashSafety(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.TemporaryDirectory()
        self.addCleanup(self.work.cleanup)
        self.smtp = servers.CapturingSmtp(self.work.name)
        self.addCleanup(self.smtp.close)
        self.shop = Shop(CVMD, f"  email:\n    type: smtp\n    url: \"smtp://127.0.0.1:{self.smtp.port}\"\n"
                               "    from: \"Shop <news@shop.example>\"\n    concurrency: 4\n",
                         env={"CVMD_API_TOKEN": TOKEN})
        self.addCleanup(self.shop.close)
        config = self.shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace(
            'link_secret: "${CVMD_LINK_SECRET}"\n',
            'link_secret: "${CVMD_LINK_SECRET}"\n  api_tokens: ["${CVMD_API_TOKEN}"]\n  cycle_every: 1 second\n'))
        (self.shop.dir / "scenarios" / "templates" / "welcome.yaml").write_text(
            'channel: email\nsubject: "Welcome, {{first_name}}"\ntext: "Hi {{first_name}}"\n')
        self.shop.add_buyers(range(100, 100 + CUSTOMERS))
        self.config = config
        self.process = None
        self.acknowledged = []

    def start(self):
        self.process = subprocess.Popen([CVMD, "--config", str(self.config), "serve", "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                        env=self.shop.env)
        line = self.process.stdout.readline()
        match = re.search(r"listening on (\S+)", line)
        self.base = "http://" + match.group(1) if match else None
        # Keep reading its output so that it never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def send_events(self, stop, run):
        n = 0
        while not stop.is_set():
            n += 1
            body = json.dumps({"userId": "c100", "event": "Product Viewed", "messageId": f"e-{run}-{n}",
                               "properties": {"run": run, "n": n}}).encode()
            request = urllib.request.Request(str(self.base) + "/v1/track", data=body, method="POST",
                                             headers={"Content-Type": "application/json",
                                                      "Authorization": "Bearer " + TOKEN})
            try:
                with urllib.request.urlopen(request, timeout=2) as r:
                    if 200 <= r.status < 300:
                        self.acknowledged.append(f"e-{run}-{n}")
            except (urllib.error.URLError, ConnectionError, OSError, TimeoutError):
                pass  # killed meanwhile: not acknowledged, may or may not be stored

    def test_sigkill_loses_and_duplicates_nothing(self):
        rng = random.Random(20261204)
        for kill in range(KILLS):
            self.start()
            stop = threading.Event()
            sender = threading.Thread(target=self.send_events, args=(stop, kill))
            sender.start()
            time.sleep(rng.uniform(0.3, 1.2))
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            stop.set()
            sender.join()
        self.start()
        deadline = time.time() + 300
        while time.time() < deadline:
            [(planned, waiting)] = self.shop.db(
                "SELECT count(*), sum(state = 'pending') FROM outbox WHERE scenario != ''")
            if planned == CUSTOMERS + 3 and waiting == 0:  # and the shop's c1, c2, c3
                break
            time.sleep(0.5)
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

        planned = {k for (k,) in self.shop.db("SELECT message_key FROM outbox WHERE state = 'sent'")}
        states = dict(self.shop.db("SELECT state, count(*) FROM outbox GROUP BY state"))
        # c3 of the shop has no address: refused for good; every other message sent.
        self.assertEqual(states, {"sent": CUSTOMERS + 2, "failed": 1}, states)
        parser = email.parser.BytesHeaderParser()
        arrived = [parser.parsebytes(raw)["X-Cvmd-Key"] for raw in self.smtp.messages()]
        self.assertEqual(set(arrived), planned)  # nothing lost, nothing unplanned
        duplicates = len(arrived) - len(set(arrived))
        print(f"{KILLS} kills: {len(arrived)} mails for {len(planned)} keys ({duplicates} resent after a kill "
              f"between acceptance and mark, each with its key); {len(self.acknowledged)} events acknowledged",
              file=sys.stderr)
        stored = {m for (m,) in self.shop.db("SELECT message_id FROM ingested_messages")}
        self.assertTrue(self.acknowledged)
        self.assertEqual([m for m in self.acknowledged if m not in stored], [])
        [(events,)] = self.shop.db("SELECT count(*) FROM events WHERE customer_id = 'c100'")
        self.assertGreaterEqual(events, len(self.acknowledged))


if __name__ == "__main__":
    unittest.main()
