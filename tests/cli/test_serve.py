"""`cvmd serve` answering the links messages carry, over real HTTP on loopback: the open
pixel, the click redirect (only to the signed target), unsubscribe (a page on GET, one-click
on POST), Kannel delivery reports; forged or mismatched links get 403 and record nothing;
SIGTERM stops it cleanly."""
import json
import os
import pathlib
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

CVMD = sys.argv.pop(1) if len(sys.argv) > 1 else "cvmd"
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "connectors"))
import servers  # noqa: E402
from shop import SECRET, Shop, parse_mail  # noqa: E402


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


class Serve(unittest.TestCase):
    TOKEN = "api-token-for-tests-0123"

    def setUp(self):
        # The file connector writes the very mails an SMTP server would get, with the links
        # under a public URL that points at the daemon started here.
        self.shop = Shop(CVMD, "  email:\n    type: file\n    directory: out\n"
                               "  sms:\n    type: file\n    directory: out\n", env={"CVMD_API_TOKEN": self.TOKEN})
        self.addCleanup(self.shop.close)
        config = self.shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace(
            'link_secret: "${CVMD_LINK_SECRET}"\n',
            'link_secret: "${CVMD_LINK_SECRET}"\n  cycle_every: 1 second\n  api_tokens: ["${CVMD_API_TOKEN}"]\n'))
        self.process = subprocess.Popen([CVMD, "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                        env=self.shop.env)
        self.addCleanup(self.stop)
        line = self.process.stdout.readline()
        self.port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", line).group(1))
        self.base = f"http://127.0.0.1:{self.port}"
        # Links are signed for the configured public URL; the test reaches them on loopback.
        self.shop.cvmd("send", "welcome", "--customer", "c1")
        [eml] = list((self.shop.dir / "out").glob("send_welcome_c1_*.eml"))
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

    def test_health_metrics_and_cycles(self):
        # The daemon runs the scenarios itself: the first cycle sends the welcome mails.
        deadline = time.time() + 20
        while time.time() < deadline and not json.loads(self.get(self.base + "/health")[2])["ready"]:
            time.sleep(0.1)
        status, _, body = self.get(self.base + "/health")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["ready"], True)
        planned = sorted(p.name.split("_")[0] for p in (self.shop.dir / "out").glob("hello_*.eml"))
        self.assertEqual(len(planned), 2)  # c1 and c2; c3 has no address
        status, headers, body = self.get(self.base + "/metrics")
        text = body.decode()
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertIn('cvmd_messages{channel="email",state="sent"} 3', text)  # two planned, one test send
        self.assertRegex(text, r'cvmd_cycle_duration_seconds_count [1-9]')
        self.assertIn("cvmd_queue_depth 0", text)
        self.assertRegex(text, r'cvmd_http_requests_total\{code="200"\} [1-9]')
        # A broken scenario set: not ready, with the reason; the daemon keeps answering.
        (self.shop.dir / "scenarios" / "broken.cvm").write_text("scenario b {\n  when lapsin\n  send welcome\n}\n")
        deadline = time.time() + 30
        while time.time() < deadline and not json.loads(self.get(self.base + "/health")[2])["reasons"]:
            time.sleep(0.2)
        health = json.loads(self.get(self.base + "/health")[2])
        self.assertTrue(health["ready"])  # the last good scenarios keep running
        self.assertIn("were refused", health["reasons"][0])

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

    def test_link_scanners_asking_with_head_record_nothing(self):
        html = self.mail.get_body(("html",)).get_content()
        [pixel] = re.findall(r'<img src="([^"]*)"', html)
        click = next(h for h in re.findall(r'href="([^"]*)"', html) if "/c/" in h)
        self.assertEqual(self.get(pixel, method="HEAD")[0], 200)
        status, headers, _ = self.get(click, method="HEAD")
        self.assertEqual((status, headers["Location"]), (302, "https://shop.example/sale?a=1&b=2"))
        self.assertEqual(self.events(), [])

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
        [sms] = list((self.shop.dir / "out").glob("send_reminder_sms_c2_*.txt"))
        status_url = re.search(r"Status-URL: (\S+)", sms.read_text()).group(1)
        status, _, _ = self.get(status_url + "?type=1&at=1796416859")
        self.assertEqual(status, 200)
        [(customer, kind, properties)] = self.events()
        self.assertEqual((customer, kind, json.loads(properties)["status"]), ("c2", "delivery_report", 1))
        self.assertEqual(self.get(status_url + "?type=x")[0], 400)

    def test_links_followed_while_events_pour_in_are_all_recorded(self):
        # The event API keeps a group of requests open across turns of the server's loop
        # until it commits them together; a link answered in between must still be recorded.
        self.shop.cvmd("send", "reminder_sms", "--customer", "c2")
        [sms] = list((self.shop.dir / "out").glob("send_reminder_sms_c2_*.txt"))
        status_url = re.search(r"Status-URL: (\S+)", sms.read_text()).group(1)
        stop = threading.Event()
        refused = []  # an assertion in a sender's thread would not fail the test

        def pour(sender):
            n = 0
            while not stop.is_set():
                batch = [{"type": "track", "userId": "c1", "event": "Product Viewed",
                          "properties": {"sender": sender, "n": n, "i": i}} for i in range(100)]
                request = urllib.request.Request(self.base + "/v1/batch", data=json.dumps({"batch": batch}).encode(),
                                                 headers={"Content-Type": "application/json",
                                                          "Authorization": "Bearer " + self.TOKEN})
                try:
                    urllib.request.urlopen(request, timeout=10).close()
                except urllib.error.HTTPError as e:
                    refused.append(e.code)
                n += 1

        senders = [threading.Thread(target=pour, args=(k,)) for k in range(4)]
        for sender in senders:
            sender.start()
        try:
            answers = [self.get(f"{status_url}?type={k}")[0] for k in range(1, 61)]
        finally:
            stop.set()
            for sender in senders:
                sender.join()
        self.assertEqual(refused, [])
        self.assertEqual(answers, [200] * 60)
        self.assertEqual(self.shop.db("SELECT count(*) FROM events WHERE type = 'delivery_report'"), [(60,)])
        self.assertGreater(self.shop.db("SELECT count(*) FROM events WHERE type = 'product_viewed'")[0][0], 1000)

    def test_connections_beyond_the_cap_are_refused_cleanly_and_it_keeps_serving(self):
        self.stop()
        config = self.shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace("  cycle_every: 1 second\n",
                                                     "  cycle_every: 1 second\n  max_connections: 3\n"))
        self.process = subprocess.Popen([CVMD, "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.shop.env)
        port = int(re.search(r":(\d+)$", self.process.stdout.readline().strip()).group(1))
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]  # slow clients holding on
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
            self.assertTrue(extra.recv(100).startswith(b"HTTP/1.1 503"))
        for s in idle:
            s.close()
        time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            self.assertEqual(r.status, 200)

    def test_json_logs_are_one_object_per_line(self):
        self.stop()
        config = self.shop.dir / "cvmd.yaml"
        config.write_text(config.read_text() + "logging: {format: json}\n")
        (self.shop.dir / "scenarios" / "broken.cvm").write_text("scenario b {\n  when lapsin\n  send welcome\n}\n")
        self.process = subprocess.Popen([CVMD, "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.shop.env)
        first = json.loads(self.process.stdout.readline())
        self.assertEqual(first["level"], "info")
        self.assertRegex(first["message"], r"^cvmd serve: listening on 127\.0\.0\.1:\d+$")
        self.assertRegex(first["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        time.sleep(1.5)
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=30)
        records = [json.loads(line) for line in out.splitlines()]  # every line is JSON
        self.assertEqual(err, "")
        levels = {r["level"] for r in records}
        self.assertEqual(levels, {"info", "error"})
        self.assertTrue(any("broken.cvm:2:8: error:" in r["message"] for r in records if r["level"] == "error"))
        self.assertEqual(records[-1]["message"], "cvmd serve: stopped")

    def test_sigterm_stops_it_cleanly(self):
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=10)
        self.assertEqual(self.process.returncode, 0)
        self.assertIn("stopped", out)



class EventApi(unittest.TestCase):
    TOKEN = "api-token-for-tests-0123"

    def setUp(self):
        self.start_daemon("  email:\n    type: file\n")

    def start_daemon(self, connectors_yaml):
        self.shop = Shop(CVMD, connectors_yaml, env={"CVMD_API_TOKEN": self.TOKEN})
        self.addCleanup(self.shop.close)
        config = self.shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace(
            'link_secret: "${CVMD_LINK_SECRET}"\n', 'link_secret: "${CVMD_LINK_SECRET}"\n  api_tokens: ["${CVMD_API_TOKEN}"]\n'))
        self.process = subprocess.Popen([CVMD, "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                        env=self.shop.env)
        self.addCleanup(self.stop)
        line = self.process.stdout.readline()
        self.base = "http://127.0.0.1:" + re.search(r":(\d+)$", line.strip()).group(1)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def post(self, path, body, token=TOKEN, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = "Bearer " + token
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, (json.loads(text) if text.startswith(b"{") else text)

    def counts(self):
        return [self.shop.db(f"SELECT count(*) FROM {t}")[0][0] for t in ("customers", "orders", "events")]

    def test_order_completed_becomes_an_order_and_other_events_become_events(self):
        status, body = self.post("/v1/track", {
            "userId": "c9", "event": "Order Completed", "messageId": "m-1", "timestamp": "2026-02-01T10:00:00.123Z",
            "properties": {"order_id": "o-9", "revenue": 49.9, "currency": "EUR",
                           "products": [{"category": "books"}]}})
        self.assertEqual((status, body["stored"]), (200, 1))
        self.assertEqual(self.shop.db("SELECT order_id, customer_id, ordered_at, amount_cents, currency, category "
                                      "FROM orders WHERE order_id = 'o-9'"),
                         [("o-9", "c9", 1769940000, 4990, "EUR", "books")])
        status, body = self.post("/v1/track", {"userId": "c9", "event": "Product Viewed", "messageId": "m-2",
                                               "properties": {"sku": "X1"}})
        self.assertEqual(status, 200)
        [(kind, properties)] = self.shop.db("SELECT type, properties FROM events WHERE customer_id = 'c9'")
        self.assertEqual((kind, json.loads(properties)), ("product_viewed", {"sku": "X1"}))

    def test_identify_updates_the_customer_and_a_repeated_message_id_changes_nothing(self):
        call = {"userId": "c1", "messageId": "id-1",
                "traits": {"email": "zoe@new.example", "firstName": "Zoë", "emailConsent": False, "plan": "gold"}}
        self.assertEqual(self.post("/v1/identify", call)[0], 200)
        customer = self.shop.cvmd("customer", "c1", "--format", "json").stdout
        self.assertIn("zoe@new.example", customer)
        self.assertIn('"plan":"gold"', customer.replace(" ", ""))
        call["traits"]["email"] = "other@x.example"  # the same messageId again: ignored
        status, body = self.post("/v1/identify", call)
        self.assertEqual((status, body["repeated"]), (200, 1))
        self.assertIn("zoe@new.example", self.shop.cvmd("customer", "c1", "--format", "json").stdout)

    def test_a_retried_event_is_stored_once_and_keeps_its_message_id(self):
        # Timed events keep their messageId in their own row; untimed ones in the id table.
        timed = {"type": "track", "userId": "c1", "event": "Product Viewed", "messageId": "ajs-1",
                 "timestamp": "2026-02-01T10:00:00.250Z", "properties": {"sku": "X1"}}
        twin = dict(timed, messageId="ajs-2")  # the same view a second time: another message
        untimed = {"type": "track", "userId": "c1", "event": "Product Viewed", "messageId": "ajs-3",
                   "properties": {"sku": "X1"}}
        status, body = self.post("/v1/batch", {"batch": [timed, twin, untimed, timed]})
        self.assertEqual((status, body["stored"], body["repeated"]), (200, 3, 1))
        status, body = self.post("/v1/batch", {"batch": [timed, twin, untimed]})  # a client's retry
        self.assertEqual((status, body["stored"], body["repeated"]), (200, 0, 3))
        self.assertEqual(self.shop.db("SELECT message_id, at FROM events WHERE type = 'product_viewed' "
                                      "AND customer_id = 'c1' ORDER BY message_id")[:2],
                         [("ajs-1", 1769940000), ("ajs-2", 1769940000)])
        self.assertEqual(self.shop.db("SELECT count(*) FROM events WHERE message_id = 'ajs-3'"), [(1,)])
        self.assertEqual(self.shop.db("SELECT message_id FROM ingested_messages WHERE message_id LIKE 'ajs-%'"),
                         [("ajs-3",)])
        # Without a messageId, the same customer, type, time and properties are the same event.
        plain = {k: v for k, v in timed.items() if k != "messageId"}
        status, body = self.post("/v1/batch", {"batch": [plain, plain]})
        self.assertEqual((status, body["stored"], body["repeated"]), (200, 1, 1))

    def test_events_bring_the_next_cycle_forward(self):
        # cycle_every is the default minute: only the events can make this happen in seconds.
        time.sleep(1.5)  # the start-up cycle is over
        status, _ = self.post("/v1/batch", {"batch": [
            {"type": "identify", "userId": "c9",
             "traits": {"email": "c9@x.example", "firstName": "Nina", "email_consent": True}},
            {"type": "track", "userId": "c9", "event": "Order Completed", "timestamp": "2026-02-01T10:00:00Z",
             "properties": {"order_id": "o-c9", "total": "19.90"}}]})
        self.assertEqual(status, 200)
        deadline = time.time() + 15
        while time.time() < deadline and not list((self.shop.dir / "outbox").glob("hello_*c9*.eml")):
            time.sleep(0.1)
        self.assertTrue(list((self.shop.dir / "outbox").glob("hello_*c9*.eml")))

    def test_segment_libraries_batches_are_taken_as_they_come(self):
        # Basic auth with the write key as user name, page calls in the batch, a float sum,
        # object and null traits, the same messageId twice in one batch.
        basic = "Basic " + __import__("base64").b64encode((self.TOKEN + ":").encode()).decode()
        body = json.dumps({"batch": [
            {"type": "page", "userId": "c1", "name": "Home"},
            {"type": "track", "userId": "c1", "event": "Order Completed", "messageId": "s-1",
             "properties": {"order_id": "o-f", "revenue": 19.99 + 39.98}},
            {"type": "track", "userId": "c1", "event": "Order Completed", "messageId": "s-1",
             "properties": {"order_id": "o-f", "revenue": 19.99 + 39.98}},
            {"type": "identify", "userId": "c1", "traits": {"address": {"city": "Köln"}, "phone": None}}]}).encode()
        request = urllib.request.Request(self.base + "/v1/batch", data=body, method="POST",
                                         headers={"Content-Type": "application/json", "Authorization": basic})
        with urllib.request.urlopen(request, timeout=10) as r:
            answer = json.loads(r.read())
        self.assertEqual((answer["stored"], answer["repeated"], answer["ignored"]), (2, 1, 1))
        self.assertEqual(self.shop.db("SELECT amount_cents FROM orders WHERE order_id = 'o-f'"), [(5997,)])
        customer = json.loads(self.shop.cvmd("customer", "c1", "--format", "json").stdout)
        self.assertIn("Köln", json.dumps(customer, ensure_ascii=False))
        self.assertIn("+4915112345678", json.dumps(customer))  # a null trait keeps the stored phone

    def test_requests_arriving_together_share_a_commit_and_a_refused_one_leaves_the_others(self):
        from concurrent.futures import ThreadPoolExecutor
        before = self.counts()
        calls = [("/v1/track", {"userId": f"g{i}", "event": "Signup", "messageId": f"g-{i}"}) for i in range(200)]
        calls[100] = ("/v1/track", {"userId": "c1", "event": "Order Completed",
                                    "properties": {"order_id": "o1", "revenue": 81}})  # o1 is stored with 80
        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(pool.map(lambda call: self.post(*call), calls))
        self.assertEqual([s for s, _ in answers].count(200), 199)
        self.assertEqual(answers[100][0], 409)
        after = self.counts()
        self.assertEqual(after[2] - before[2], 199)  # every acknowledged event, nothing of the refused one

    def test_a_conflicting_order_refuses_the_whole_request(self):
        before = self.counts()  # o1 is stored: c1, 2026-01-10, 80
        status, body = self.post("/v1/batch", {"batch": [
            {"type": "track", "userId": "c7", "event": "Signup"},
            {"type": "track", "userId": "c1", "event": "Order Completed", "properties": {"order_id": "o1", "revenue": 81}}]})
        self.assertEqual(status, 409)
        self.assertIn("order_id 'o1' is already stored with other values", body["error"])
        self.assertEqual(self.counts(), before)  # the signup before it was rolled back too

    def test_a_write_the_store_fails_is_answered_503_and_takes_its_group_back_whole(self):
        # A trigger makes the store fail one kind of event, as a full disk would fail any write.
        # Requests without orders are written without a savepoint of their own, so a failure
        # takes back the whole group; the others in it are answered 503 and nothing of them stays.
        from concurrent.futures import ThreadPoolExecutor
        self.shop.db("CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.type = 'boom' "
                     "BEGIN SELECT RAISE(ABORT, 'boom'); END")
        calls = [{"batch": [{"type": "track", "userId": f"w{i}", "event": "Signup"}]} for i in range(240)]
        for i in range(0, 240, 12):  # a good item written before the failing one
            calls[i]["batch"].append({"type": "track", "userId": f"w{i}", "event": "Boom"})
        self.retry_after = {}

        def post(numbered):
            i, call = numbered
            data = json.dumps(call).encode()
            request = urllib.request.Request(self.base + "/v1/batch", data=data, method="POST", headers={
                "Content-Type": "application/json", "Authorization": "Bearer " + self.TOKEN})
            try:
                with urllib.request.urlopen(request, timeout=10) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                self.retry_after[i] = e.headers.get("Retry-After")  # the client may try again
                return e.code, json.loads(e.read())

        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(pool.map(post, enumerate(calls)))
        statuses = [s for s, _ in answers]
        self.assertTrue(all(statuses[i] == 503 for i in range(0, 240, 12)), statuses)
        self.assertTrue(all(self.retry_after[i] == "1" for i in range(240) if statuses[i] == 503))
        self.assertEqual(set(statuses), {200, 503})
        acknowledged = {f"w{i}" for i, s in enumerate(statuses) if s == 200}
        stored = {c for (c,) in self.shop.db("SELECT customer_id FROM events WHERE customer_id LIKE 'w%'")}
        self.assertEqual(stored, acknowledged)  # every 200 stored, nothing of any 503
        status, _ = self.post("/v1/track", {"userId": "w-after", "event": "Signup"})
        self.assertEqual(status, 200)

    def test_sighup_takes_an_edited_scenario_at_once(self):
        time.sleep(1.5)  # the start-up cycle is over; the next would be a minute away
        (self.shop.dir / "scenarios" / "again.cvm").write_text("scenario again {\n  when orders >= 1\n  send email welcome\n}\n")
        self.process.send_signal(signal.SIGHUP)
        deadline = time.time() + 15
        while time.time() < deadline and len(list((self.shop.dir / "outbox").glob("again_*.eml"))) < 2:
            time.sleep(0.1)
        self.assertEqual(len(list((self.shop.dir / "outbox").glob("again_*.eml"))), 2)
        self.assertIsNone(self.process.poll())  # SIGHUP does not stop it

    def test_a_batch_with_one_bad_item_is_refused_whole_with_its_place(self):
        before = self.counts()
        status, body = self.post("/v1/batch", {"batch": [
            {"type": "track", "userId": "c1", "event": "Signup", "messageId": "b-1"},
            {"type": "track", "userId": "c2", "event": "Order Completed", "properties": {"order_id": "o-x"}},
        ]})
        self.assertEqual(status, 400)
        self.assertEqual(body["error"], "batch[1].properties.revenue: missing (or total); nothing was stored")
        self.assertEqual(self.counts(), before)
        status, body = self.post("/v1/batch", {"batch": [
            {"type": "track", "userId": "c1", "event": "Signup", "messageId": "b-1"},
            {"type": "identify", "userId": "c5", "traits": {"email": "c5@x.example"}, "messageId": "b-2"}]})
        self.assertEqual((status, body["stored"]), (200, 2))

    def test_bad_requests_are_refused_cleanly_and_store_nothing(self):
        before = self.counts()
        self.assertEqual(self.post("/v1/track", {"userId": "c1", "event": "X"}, token=None)[0], 401)
        self.assertEqual(self.post("/v1/track", {"userId": "c1", "event": "X"}, token="wrong")[0], 401)
        self.assertEqual(self.post("/v1/track", b"userId=c1", content_type="application/x-www-form-urlencoded")[0],
                         415)
        status, body = self.post("/v1/track", b'{"userId": "c1", "event": ')
        self.assertEqual(status, 400)
        self.assertIn("not valid JSON", body["error"])
        status, body = self.post("/v1/track", b'{"userId": "c1", "event": "\xff\xfe"}')
        self.assertEqual(status, 400)
        status, body = self.post("/v1/track", {"event": "Signup"})
        self.assertEqual(body["error"], "body.userId: missing (the shop's customer id); nothing was stored")
        status, body = self.post("/v1/track", {"userId": "c1", "event": "Signup", "timestamp": "yesterday"})
        self.assertEqual(status, 400)
        self.assertIn("body: at:", body["error"])
        # Over the body limit: refused from the headers, before the body is read.
        port = int(self.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.TOKEN.encode() +
                      b"\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 413"))
        # A client that sends the whole oversized body still reads its 413: the daemon reads
        # and drops the rest instead of resetting the connection under it.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            body = b"[" + b" " * (32 << 20) + b"]"
            s.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.TOKEN.encode() +
                      b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                      b"\r\n\r\n" + body)
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 413"))
        self.assertEqual(self.counts(), before)
        self.assertEqual(self.post("/v1/track", {"userId": "c1", "event": "Signup"})[0], 200)  # still serving


class Durability(unittest.TestCase):
    """server.durability: power syncs each commit of the event API to disk before its 2xx
    (seen as fdatasync calls on the WAL, traced with strace); the default leaves that to
    the checkpoints."""
    TOKEN = EventApi.TOKEN
    post = EventApi.post

    def wal_syncs(self, durability):
        shop = Shop(CVMD, "  email:\n    type: file\n", env={"CVMD_API_TOKEN": self.TOKEN})
        self.addCleanup(shop.close)
        config = shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace(
            'link_secret: "${CVMD_LINK_SECRET}"\n',
            'link_secret: "${CVMD_LINK_SECRET}"\n  api_tokens: ["${CVMD_API_TOKEN}"]\n'
            + (f"  durability: {durability}\n" if durability else "")))
        trace = shop.dir / "syncs.txt"
        process = subprocess.Popen(["strace", "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o", str(trace),
                                    CVMD, "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=shop.env)
        line = process.stdout.readline()
        self.base = "http://127.0.0.1:" + re.search(r":(\d+)$", line.strip()).group(1)
        for i in range(5):
            self.assertEqual(self.post("/v1/track", {"userId": "c1", "event": "Signup", "messageId": f"d-{i}"})[0], 200)
        daemon = int(subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()[0])
        os.kill(daemon, signal.SIGTERM)  # strace ends with it
        process.wait(timeout=30)
        process.stdout.close()
        return sum(1 for line in trace.read_text().splitlines() if "shop.db-wal>" in line)

    def test_power_syncs_every_commit_and_the_default_does_not(self):
        if subprocess.run(["strace", "-qq", "-o", "/dev/null", "true"]).returncode != 0:
            self.skipTest("strace cannot trace here")
        default = self.wal_syncs(None)
        power = self.wal_syncs("power")
        self.assertGreaterEqual(power, default + 5, (default, power))

    def test_an_unknown_durability_is_refused_with_its_line(self):
        shop = Shop(CVMD, "  email:\n    type: file\n")
        self.addCleanup(shop.close)
        config = shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace('  link_secret:', '  durability: disk\n  link_secret:'))
        r = subprocess.run([CVMD, "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
                           capture_output=True, text=True, env=shop.env, timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"cvmd\.yaml:\d+:\d+: .*server\.durability must be 'process'")


class KeptConnections(unittest.TestCase):
    """The daemon keeps its senders between cycles (their connections, and their breakers'
    memory of a failing gateway): one SMTP connection serves every cycle."""
    TOKEN = EventApi.TOKEN
    post = EventApi.post
    stop = EventApi.stop
    start_daemon = EventApi.start_daemon

    def setUp(self):
        self.smtp = servers.ScriptedSmtp()
        self.addCleanup(self.smtp.close)
        self.start_daemon(f"  email:\n    type: smtp\n    url: \"smtp://127.0.0.1:{self.smtp.port}\"\n"
                          "    from: \"Shop <news@shop.example>\"\n")

    def wait_for_mails(self, count):
        deadline = time.time() + 15
        while time.time() < deadline and len(self.smtp.messages) < count:
            time.sleep(0.1)
        return [rcpt for [rcpt], _ in self.smtp.messages]

    def test_cycles_share_one_smtp_connection(self):
        self.assertEqual(sorted(self.wait_for_mails(2)), ["bob@x.example", "zoe@x.example"])  # the start-up cycle
        for n in (8, 9):
            status, _ = self.post("/v1/batch", {"batch": [
                {"type": "identify", "userId": f"c{n}",
                 "traits": {"email": f"c{n}@x.example", "firstName": "Nina", "email_consent": True}},
                {"type": "track", "userId": f"c{n}", "event": "Order Completed", "timestamp": "2026-02-01T10:00:00Z",
                 "properties": {"order_id": f"o-c{n}", "total": "19.90"}}]})
            self.assertEqual(status, 200)
            self.assertIn(f"c{n}@x.example", self.wait_for_mails(3 if n == 8 else 4))
            time.sleep(1.2)  # the next one is a cycle of its own
        self.assertEqual(self.smtp.connections, 1)


if __name__ == "__main__":
    unittest.main()
