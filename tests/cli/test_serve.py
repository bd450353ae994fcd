"""`cvmd serve` answering the links messages carry, over real HTTP on loopback: the open
pixel, the click redirect (only to the signed target), unsubscribe (a page on GET, one-click
on POST), Kannel delivery reports; forged or mismatched links get 403 and record nothing;
SIGTERM stops it cleanly."""
import json
import os
import pathlib
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

CVMD = sys.argv.pop(1) if len(sys.argv) > 1 else "cvmd"
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "connectors"))
from shop import SECRET, Shop, parse_mail  # noqa: E402


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


class Serve(unittest.TestCase):
    def setUp(self):
        # The file connector writes the very mails an SMTP server would get, with the links
        # under a public URL that points at the daemon started here.
        self.shop = Shop(CVMD, "  email:\n    type: file\n    directory: out\n"
                               "  sms:\n    type: file\n    directory: out\n")
        self.addCleanup(self.shop.close)
        config = self.shop.dir / "cvmd.yaml"
        self.process = subprocess.Popen([CVMD, "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=self.shop.env)
        self.addCleanup(self.stop)
        line = self.process.stdout.readline()
        self.port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", line).group(1))
        self.base = f"http://127.0.0.1:{self.port}"
        # Links are signed for the configured public URL; the test reaches them on loopback.
        self.shop.cvmd("send", "welcome", "--customer", "c1")
        [eml] = list((self.shop.dir / "out").glob("*.eml"))
        self.mail = parse_mail(eml.read_bytes())

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def local(self, url):
        return re.sub(r"^https://shop\.example", self.base, url)

    def get(self, url, data=None, method=None):
        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(self.local(url), data=data, method=method)
        try:
            with opener.open(request, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def events(self):
        return self.shop.db("SELECT customer_id, type, properties FROM events ORDER BY event_id")

    def test_health(self):
        status, headers, body = self.get(self.base + "/health")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))

    def test_open_click_and_unsubscribe_are_recorded_from_signed_links_only(self):
        html = self.mail.get_body(("html",)).get_content()
        [pixel] = re.findall(r'<img src="([^"]*)"', html)
        click = next(h for h in re.findall(r'href="([^"]*)"', html) if "/c/" in h)
        unsubscribe = re.fullmatch(r"<(.*)>", self.mail["List-Unsubscribe"].strip()).group(1)

        status, headers, body = self.get(pixel)
        self.assertEqual((status, headers["Content-Type"], body[:6]), (200, "image/gif", b"GIF89a"))
        status, headers, _ = self.get(click)
        self.assertEqual((status, headers["Location"]), (302, "https://shop.example/sale?a=1&b=2"))
        # A query added to a click link cannot change where it leads.
        status, headers, _ = self.get(click + "?url=https://evil.example/")
        self.assertEqual(headers.get("Location"), "https://shop.example/sale?a=1&b=2")

        status, _, body = self.get(unsubscribe)  # a mail scanner following the link
        self.assertEqual(status, 200)
        self.assertIn(b'<form method="post"', body)
        self.assertNotIn("unsubscribed", [t for _, t, _ in self.events()])
        status, _, body = self.get(unsubscribe, data=b"List-Unsubscribe=One-Click")  # RFC 8058
        self.assertEqual(status, 200)
        self.get(unsubscribe, data=b"List-Unsubscribe=One-Click")  # a second click changes nothing
        events = self.events()
        # Both clicks led to the signed target; within one second they are one event.
        self.assertEqual(list(dict.fromkeys((c, t) for c, t, _ in events)),
                         [("c1", "opened"), ("c1", "clicked"), ("c1", "unsubscribed")])
        self.assertEqual([t for _, t, _ in events].count("unsubscribed"), 1)
        self.assertEqual(json.loads(events[0][2])["template"], "welcome")
        self.assertEqual(json.loads(events[-1][2])["channel"], "email")

    def test_forged_tampered_and_mismatched_links_get_403_and_record_nothing(self):
        unsubscribe = re.fullmatch(r"<(.*)>", self.mail["List-Unsubscribe"].strip()).group(1)
        token = unsubscribe.rsplit("/", 1)[1]
        tampered = unsubscribe[:-2] + ("AA" if not unsubscribe.endswith("AA") else "BB")
        for url, method in ((tampered, "POST"), (self.base + "/cvmd/u/nonsense", "POST"),
                            (self.base + "/cvmd/o/" + token, "GET"),  # an unsubscribe token as a pixel
                            (self.base + "/cvmd/c/" + token, "GET")):
            status, _, _ = self.get(url, data=b"" if method == "POST" else None)
            self.assertEqual(status, 403, url)
        self.assertEqual(self.events(), [])
        self.assertEqual(self.get(self.base + "/elsewhere")[0], 404)

    def test_a_delivery_report_is_recorded(self):
        self.shop.cvmd("send", "reminder_sms", "--customer", "c2")
        [sms] = list((self.shop.dir / "out").glob("*.txt"))
        status_url = re.search(r"Status-URL: (\S+)", sms.read_text()).group(1)
        status, _, _ = self.get(status_url + "?type=1&at=1796416859")
        self.assertEqual(status, 200)
        [(customer, kind, properties)] = self.events()
        self.assertEqual((customer, kind, json.loads(properties)["status"]), ("c2", "delivery_report", 1))
        self.assertEqual(self.get(status_url + "?type=x")[0], 400)

    def test_sigterm_stops_it_cleanly(self):
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=10)
        self.assertEqual(self.process.returncode, 0)
        self.assertIn("stopped", out)


if __name__ == "__main__":
    unittest.main()
