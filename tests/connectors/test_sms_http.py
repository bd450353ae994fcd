"""SMS through a real Kannel (bearerbox + smsbox, fakesmsc as the SMSC) with its delivery
reports coming back, and the generic HTTP connector and webhooks against a local server."""
import base64
import hashlib
import hmac
import json
import sys
import tempfile
import time
import unittest
import urllib.parse

import servers
from shop import PUBLIC_URL, SECRET, Shop

CVMD = sys.argv.pop(1) if len(sys.argv) > 1 else "cvmd"


class KannelSms(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.TemporaryDirectory()
        self.addCleanup(self.work.cleanup)
        self.kannel = servers.Kannel(self.work.name)
        self.addCleanup(self.kannel.close)
        self.reports = servers.RecordingHttp()
        self.addCleanup(self.reports.close)
        public = f"http://127.0.0.1:{self.reports.port}/cvmd"
        self.public = public
        self.shop = Shop(CVMD,
                         f"  sms:\n    type: kannel\n    url: \"{self.kannel.sendsms_url()}\"\n"
                         "    username: cvmd\n    password: \"${KANNEL_PASS}\"\n    from: \"Shop\"\n",
                         env={"KANNEL_PASS": "kannel-secret"})
        self.addCleanup(self.shop.close)
        config = self.shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace(PUBLIC_URL, public))

    def wait(self, what, timeout=10):
        deadline = time.time() + timeout
        while not what() and time.time() < deadline:
            time.sleep(0.1)
        return what()

    def test_utf8_text_arrives_whole_and_the_delivery_report_comes_back_signed(self):
        r = self.shop.cvmd("send", "reminder_sms", "--customer", "c1")
        self.assertIn("through sms (kannel)", r.stdout)
        received = self.wait(self.kannel.received)
        self.assertEqual(received, [("Shop", "+4915112345678", "Zoë <b>: -20% auf alles 🎉 bis Sonntag")])
        reports = self.wait(lambda: [q for q in self.reports.requests if "/dlr/" in q["path"]])
        self.assertTrue(reports, "no delivery report reached the dlr-url")
        path, query = reports[0]["path"].split("?", 1)
        claim = servers.verify_link(f"http://127.0.0.1:{self.reports.port}" + path, self.public, SECRET)
        [(key,)] = self.shop.db("SELECT message_key FROM outbox")
        self.assertEqual((claim["kind"], claim["key"], claim["customer"]), ("d", key, "c1"))
        self.assertIn(urllib.parse.parse_qs(query)["type"][0], ("1", "8"))  # delivered / SMSC accepted

    def test_wrong_credentials_wait_and_a_bad_number_is_refused(self):
        config = self.shop.dir / "cvmd.yaml"
        self.shop.env["KANNEL_PASS"] = "wrong"
        r = self.shop.cvmd("send", "reminder_sms", "--customer", "c1", expect=1)
        self.assertIn("403", r.stderr)
        # The password travels in Kannel's URL: never printed, never stored.
        self.assertNotIn("wrong", r.stderr)
        self.assertNotIn("wrong", " ".join(d for (d,) in self.shop.db("SELECT detail FROM outbox")))
        self.assertNotIn("wrong", self.shop.cvmd("outbox", "--format", "json").stdout)
        self.shop.env["KANNEL_PASS"] = "kannel-secret"
        (self.shop.dir / "bad.csv").write_text("customer_id,phone,first_name,sms_consent\nc9,not-a-number,Al,yes\n")
        self.shop.cvmd("import", "customers", str(self.shop.dir / "bad.csv"))
        r = self.shop.cvmd("send", "reminder_sms", "--customer", "c9", expect=1)
        self.assertIn("'not-a-number' is not a phone number", r.stderr)
        time.sleep(0.5)
        self.assertEqual(self.kannel.received(), [])


class HttpGateways(unittest.TestCase):
    def shop_with(self, connector_yaml, answers, env=None):
        self.http = servers.RecordingHttp(answers)
        self.addCleanup(self.http.close)
        shop = Shop(CVMD, connector_yaml.replace("PORT", str(self.http.port)), env=env)
        self.addCleanup(shop.close)
        return shop

    def test_a_twilio_style_form_request_is_shaped_by_config_and_its_id_kept(self):
        shop = self.shop_with(
            "  sms:\n    type: http\n    url: \"http://127.0.0.1:PORT/2010-04-01/Messages.json\"\n"
            "    format: form\n    username: AC123\n    password: \"${TWILIO_TOKEN}\"\n"
            "    fields: {To: \"{{to}}\", From: \"+15550001\", Body: \"{{text}}\"}\n    id_field: sid\n",
            [(201, '{"sid": "SM42", "status": "queued"}')], env={"TWILIO_TOKEN": "tok-secret"})
        shop.cvmd("send", "reminder_sms", "--customer", "c2")
        [request] = self.http.requests
        self.assertEqual(request["path"], "/2010-04-01/Messages.json")
        self.assertEqual(request["headers"]["Content-Type"], "application/x-www-form-urlencoded")
        self.assertEqual(request["headers"]["Authorization"], "Basic " + base64.b64encode(b"AC123:tok-secret").decode())
        form = urllib.parse.parse_qs(request["body"].decode())
        self.assertEqual(form, {"To": ["+4915187654321"], "From": ["+15550001"],
                                "Body": ["Bob: -20% auf alles 🎉 bis Sonntag"]})
        self.assertEqual(shop.db("SELECT state, provider_id FROM outbox"), [("sent", "SM42")])

    def test_http_answers_decide_between_retry_and_final_failure(self):
        yaml = ("  sms:\n    type: http\n    url: \"http://127.0.0.1:PORT/send\"\n"
                "    fields: {to: \"{{to}}\", message: \"{{text}}\"}\n")
        for status, state in ((429, "pending"), (503, "pending"), (400, "failed"), (200, "sent")):
            with self.subTest(status=status):
                shop = self.shop_with(yaml, [(status, '{"error": "x"}')])
                scenario = shop.dir / "scenarios" / "hello.cvm"
                scenario.write_text(scenario.read_text().replace("send email welcome", "send sms reminder_sms"))
                shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
                states = {s for (s,) in shop.db("SELECT state FROM outbox")}
                self.assertEqual(states, {state})
                body = json.loads(self.http.requests[0]["body"])
                self.assertEqual(set(body), {"to", "message"})

    def test_a_webhook_posts_the_rendered_body_signed(self):
        shop = self.shop_with(
            "  webhook:\n    type: webhook\n    url: \"http://127.0.0.1:PORT/hook\"\n"
            "    signing_secret: \"${HOOK_SECRET}\"\n", [(204, "")], env={"HOOK_SECRET": "hook-secret-123"})
        (shop.dir / "scenarios" / "templates" / "crm_sync.yaml").write_text(
            'channel: webhook\nbody: \'{"customer": "{{customer_id}}", "name": "{{first_name}}"}\'\n')
        shop.cvmd("send", "crm_sync", "--customer", "c1")
        request = self.http.requests[0]
        self.assertEqual(json.loads(request["body"]), {"customer": "c1", "name": "Zoë <b>"})
        # A quote in a name stays inside its JSON string.
        (shop.dir / "q.csv").write_text('customer_id,first_name\nc7,"Al ""The"" \\ Guy"\n')
        shop.cvmd("import", "customers", str(shop.dir / "q.csv"))
        shop.cvmd("send", "crm_sync", "--customer", "c7")
        self.assertEqual(json.loads(self.http.requests[1]["body"])["name"], 'Al "The" \\ Guy')
        expected = hmac.new(b"hook-secret-123", request["body"], hashlib.sha256).hexdigest()
        self.assertEqual(request["headers"]["X-Cvmd-Signature"], "sha256=" + expected)
        self.assertTrue(request["headers"]["X-Cvmd-Key"].startswith("send:crm_sync:c1:"))


if __name__ == "__main__":
    unittest.main()
