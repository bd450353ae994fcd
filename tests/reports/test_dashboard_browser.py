#!/usr/bin/env python3
"""The dashboard in a real browser: a test daemon serves /dashboard of a simulated shop;
headless Chromium opens it. The test fails on any console message of the page (errors,
refused loads), on a chart that is missing or empty, and on a page reachable without its
token. The screenshot is kept in the artifacts folder."""
import html.parser
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

from sim_shop import simulation, write_shop

CVMD = None
ARTIFACTS = None
TOKEN = "dash-token-5d1f0c2a9e"
CHARTS = ("share_bars", "flow", "heatmap", "funnel", "interval_bars")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def chromium(*args, timeout=90):
    """Headless Chromium; its log on stderr carries the pages' console messages."""
    profile = tempfile.TemporaryDirectory()
    try:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-extensions", "--enable-logging=stderr", "--log-level=0",
                               f"--user-data-dir={profile.name}", *args],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        profile.cleanup()


def console_messages(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


class Charts(html.parser.HTMLParser):
    """Each chart's kind with how many drawn marks (rect, path, circle, line) it holds."""

    def __init__(self):
        super().__init__()
        self.marks = {}
        self.current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg" and "data-chart" in attrs:
            self.current = attrs["data-chart"]
            self.marks.setdefault(self.current, 0)
        elif self.current and tag in ("rect", "path", "circle", "line"):
            self.marks[self.current] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.current = None


class DashboardInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.dir = pathlib.Path(cls.tmp.name)
        write_shop(d)
        config = d / "cvmd.yaml"
        for args in (("import", "customers", str(d / "c.csv")), ("import", "orders", str(d / "o.csv")),
                     ("simulate", *simulation(d), "--record-into", str(d / "sim.db"))):
            subprocess.run([CVMD, "--config", str(config), *args], check=True, capture_output=True, timeout=300)
        config.write_text("store: sim.db\nscenarios: scenarios\nserver:\n"
                          "  dashboard_tokens: [\"${CVMD_DASHBOARD_TOKEN}\"]\n")
        env = dict(os.environ, CVMD_DASHBOARD_TOKEN=TOKEN)
        cls.process = subprocess.Popen([CVMD, "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=d)
        line = cls.process.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            cls.process.kill()
            raise AssertionError("the daemon did not start: " + line + cls.process.stderr.read())
        cls.base = f"http://127.0.0.1:{match.group(1)}"

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        try:
            cls.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            cls.process.kill()
        log = cls.process.stderr.read()
        assert TOKEN not in log, "the token was logged"
        cls.tmp.cleanup()

    def get(self, path, headers=None):
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def test_the_console_check_can_fail(self):
        page = self.dir / "broken.html"
        page.write_text("<!doctype html><p>x</p><script>console.error('deliberate'); missing_function();</script>")
        messages = console_messages(chromium("--dump-dom", page.as_uri()).stderr)
        self.assertTrue(any("deliberate" in m for m in messages), messages)
        self.assertTrue(any("missing_function" in m for m in messages), messages)

    def test_no_token_no_dashboard(self):
        for path, headers in (("/dashboard", {}), ("/dashboard?token=wrong", {}),
                              ("/dashboard", {"Authorization": "Bearer wrong"})):
            status, _, body = self.get(path, headers)
            self.assertEqual(status, 401, path)
            self.assertNotIn("<svg", body)
        status, headers, body = self.get("/dashboard", {"Authorization": "Bearer " + TOKEN})
        self.assertEqual(status, 200)
        self.assertIn("default-src 'none'", headers["Content-Security-Policy"])
        self.assertTrue(headers["Content-Type"].startswith("text/html"))

    def test_the_browser_shows_every_chart_without_console_errors(self):
        url = f"{self.base}/dashboard?token={TOKEN}"
        dom = chromium("--dump-dom", "--virtual-time-budget=3000", url)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertEqual(console_messages(dom.stderr), [])
        parser = Charts()
        parser.feed(dom.stdout)
        for kind in CHARTS:
            self.assertGreater(parser.marks.get(kind, 0), 2, f"chart {kind} missing or empty: {parser.marks}")
        self.assertIn("offer_test", dom.stdout)
        self.assertIn("reminder_test", dom.stdout)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        if shot.exists():
            shot.unlink()
        taken = chromium(f"--screenshot={shot}", "--window-size=1280,4200", "--hide-scrollbars", url)
        self.assertEqual(console_messages(taken.stderr), [])
        self.assertTrue(shot.exists() and shot.stat().st_size > 20000, taken.stderr[-2000:])
        self.assertEqual(shot.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    CVMD = sys.argv.pop(1)
    ARTIFACTS = pathlib.Path(sys.argv.pop(1))
    unittest.main()
