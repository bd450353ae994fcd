#!/usr/bin/env python3
"""`cvmd run --once` against a real SQLite store and the file connector: cycles, no second
message for a step on re-runs or after a crash between delivery and marking, versions
pinned for enrollments in flight, a broken scenario refused whole."""
import os
import pathlib
import email
import email.policy
import sqlite3
import subprocess
import sys
import tempfile
import unittest

CVMD = None

SCENARIO = """scenario lapse "Lapsing" {
  when lapsing
  exit when ordered
  goal ordered within 14 days
  send reminder
  send last_call after 5 days
}
"""


class RunOnce(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        templates = self.dir / "scenarios" / "templates"
        templates.mkdir(parents=True)
        (templates / "reminder.yaml").write_text(
            'channel: email\nsubject: "{{first_name}}, we miss you"\ntext: "Hi {{first_name}} & co"\n'
            'html: "<p>Hi {{first_name}}</p>"\n')
        (templates / "last_call.yaml").write_text('channel: email\nsubject: "Last call"\ntext: "Bye"\n')
        (self.dir / "scenarios" / "lapse.cvm").write_text(SCENARIO)
        (self.dir / "cvmd.yaml").write_text("store: shop.db\nscenarios: scenarios\n")
        (self.dir / "c.csv").write_text(
            "customer_id,email,email_consent,first_name\nc1,ann@x.example,yes,<Ann>\nc2,bob@x.example,yes,Bob\n")
        (self.dir / "o.csv").write_text(
            "order_id,customer_id,ordered_at,amount\no1,c1,2026-01-10T15:00:00Z,40\no2,c2,2026-01-20T10:00:00Z,50\n")
        for kind, name in (("customers", "c.csv"), ("orders", "o.csv")):
            self.cvmd("import", kind, str(self.dir / name))
        self.outbox = self.dir / "outbox"

    def tearDown(self):
        self.tmp.cleanup()

    def cvmd(self, *args, expect=0):
        r = subprocess.run([CVMD, "--config", str(self.dir / "cvmd.yaml"), *args], capture_output=True, text=True)
        self.assertEqual(r.returncode, expect, r.stdout + r.stderr)
        return r

    def run_at(self, now, expect=0):
        return self.cvmd("run", "--once", "--now", now, expect=expect)

    def db(self, sql):
        with sqlite3.connect(self.dir / "shop.db") as c:
            return c.execute(sql).fetchall()

    def files(self):
        return sorted(p.name for p in self.outbox.glob("*.eml")) if self.outbox.exists() else []

    def mail(self, path):
        with open(path, "rb") as f:
            return email.message_from_binary_file(f, policy=email.policy.default)

    def test_cycles_plan_and_deliver_each_step_once(self):
        self.assertIn("0 decisions", self.run_at("2026-03-01T00:00:00Z").stdout)
        r = self.run_at("2026-03-13T00:00:00Z")
        self.assertIn("1 enter, 1 send; 1 messages planned; 1 sent,", r.stdout)
        self.assertEqual(len(self.files()), 1)
        # The dry run writes the very message an SMTP connector would send.
        mail = self.mail(self.outbox / self.files()[0])
        self.assertEqual(mail["To"].addresses[0].addr_spec, "ann@x.example")
        self.assertEqual(mail["Subject"], "<Ann>, we miss you")
        self.assertIn("Hi <Ann> & co", mail.get_body(("plain",)).get_content())  # text parts are plain text
        self.assertIn("<p>Hi &lt;Ann&gt;</p>", mail.get_body(("html",)).get_content())  # HTML is escaped
        # The same cycle again, and an earlier --now: nothing new.
        self.assertIn("0 decisions", self.run_at("2026-03-13T00:00:00Z").stdout)
        self.assertIn("is earlier: nothing to do", self.run_at("2026-03-10T00:00:00Z").stdout)
        self.assertEqual(self.db("SELECT value FROM meta WHERE name = 'last_cycle_at'"), [(1773360000,)])  # 13 March
        self.run_at("2026-03-25T00:00:00Z")
        self.assertEqual(len(self.files()), 3)  # c1 both steps, c2 the first
        keys = [k for (k,) in self.db("SELECT message_key FROM outbox ORDER BY message_key")]
        self.assertEqual(len(keys), len(set(keys)))
        self.assertTrue(all(k.startswith("lapse:") and k.count(":") == 4 for k in keys), keys)
        self.assertEqual(self.db("SELECT count(*) FROM outbox WHERE state = 'sent'"), [(3,)])

    def test_events_of_earlier_cycles_count_for_conditions_and_consent(self):
        # A cycle reads only the history its scenarios can ask about (here product_viewed,
        # and unsubscribes for the consent check): those events, stored before the first
        # cycle, still decide in a later one; events of other types change nothing.
        (self.dir / "scenarios" / "lapse.cvm").write_text(
            'scenario lapse "Lapsing" {\n  when lapsing\n  send reminder if did product_viewed within 30 days\n}\n')
        (self.dir / "e.jsonl").write_text(
            '{"customer_id":"c1","type":"product_viewed","at":"2026-03-02T10:00:00Z","properties":{"sku":"a"}}\n'
            '{"customer_id":"c1","type":"page_seen","at":"2026-03-02T10:00:00Z"}\n'
            '{"customer_id":"c2","type":"product_viewed","at":"2026-03-02T10:00:00Z"}\n'
            '{"customer_id":"c2","type":"unsubscribed","at":"2026-03-02T11:00:00Z","properties":{"channel":"email"}}\n')
        self.cvmd("import", "events", str(self.dir / "e.jsonl"))
        self.run_at("2026-03-05T00:00:00Z")
        self.run_at("2026-03-25T00:00:00Z")  # both lapse now; the events are history
        self.assertEqual(len(self.files()), 1)
        self.assertEqual(self.mail(self.outbox / self.files()[0])["To"].addresses[0].addr_spec, "ann@x.example")
        self.assertEqual(self.db("SELECT customer_id, action, reason FROM decisions "
                                 "WHERE action IN ('send', 'skip', 'suppress') ORDER BY customer_id"),
                         [("c1", "send", "due"), ("c2", "suppress", "unsubscribed from email on 2026-03-02T11:00:00Z")])

    def test_a_crash_between_delivery_and_marking_does_not_send_twice(self):
        self.run_at("2026-03-13T00:00:00Z")
        [(key,)] = self.db("SELECT message_key FROM outbox")
        # As if the process died after writing the file but before marking it sent.
        self.db(f"UPDATE outbox SET state = 'pending' WHERE message_key = '{key}'")
        before = self.files()
        r = self.run_at("2026-03-14T00:00:00Z")
        self.assertIn("1 sent", r.stdout)
        self.assertEqual(self.files(), before)
        [(state, detail)] = self.db("SELECT state, detail FROM outbox")
        self.assertEqual(state, "sent")
        self.assertTrue(detail.startswith("already in"), detail)

    def test_a_second_cycle_while_one_runs_is_refused(self):
        import fcntl
        with open(self.dir / "shop.db.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # as if another cvmd run were working
            r = self.run_at("2026-03-13T00:00:00Z", expect=2)
            self.assertIn("another cvmd run or serve is working on", r.stderr)
        self.assertEqual(self.db("SELECT count(*) FROM outbox"), [(0,)])
        self.run_at("2026-03-13T00:00:00Z")
        self.assertEqual(self.db("SELECT count(*) FROM outbox"), [(1,)])

    def test_a_failed_delivery_stays_pending_and_goes_out_later(self):
        self.outbox.write_text("a file where the outbox folder should be")
        r = self.run_at("2026-03-13T00:00:00Z")
        self.assertIn("cannot create the outbox folder", r.stderr)
        self.assertIn("1 to retry", r.stdout)
        [(state, attempts, retry_at)] = self.db("SELECT state, attempts, next_attempt_at FROM outbox")
        self.assertEqual((state, attempts), ("pending", 1))
        # Backed off with jitter: between half the first delay (60 s) and all of it.
        self.assertTrue(1773360000 + 30 <= retry_at <= 1773360000 + 60, retry_at)
        self.outbox.unlink()
        r = self.run_at("2026-03-13T00:00:10Z")
        self.assertIn("0 sent", r.stdout)  # not yet due again
        r = self.run_at("2026-03-14T00:00:00Z")
        self.assertIn("1 sent", r.stdout)
        self.assertEqual(self.db("SELECT state, attempts FROM outbox"), [("sent", 2)])
        self.assertEqual(len(self.files()), 1)

    def test_an_edited_scenario_is_a_new_version_and_enrollments_in_flight_keep_theirs(self):
        self.run_at("2026-03-23T00:00:00Z")  # the launch: both enter now; last calls due 28 March
        [(old,)] = self.db("SELECT DISTINCT version FROM enrollments")
        (self.dir / "scenarios" / "lapse.cvm").write_text(SCENARIO.replace("after 5 days", "after 2 days"))
        self.run_at("2026-03-28T00:00:00Z")
        rows = self.db("SELECT version, at FROM decisions WHERE customer_id = 'c2' AND step = 2")
        # 2026-03-28T00:00:00Z: five days after entry, the old version's (the new says 25 March).
        self.assertEqual(rows, [(old, 1774656000)])
        self.assertEqual(len(self.db("SELECT * FROM scenario_versions")), 2)

    def test_a_scenario_with_errors_is_refused_and_the_last_good_set_keeps_running(self):
        self.run_at("2026-03-13T00:00:00Z")
        [(version,)] = self.db("SELECT DISTINCT version FROM enrollments")
        (self.dir / "scenarios" / "broken.cvm").write_text("scenario b {\n  when lapsing\n  send nothing_here\n}\n")
        # Also an edit of the running scenario: refused with the rest, the old one goes on.
        (self.dir / "scenarios" / "lapse.cvm").write_text(SCENARIO.replace("after 5 days", "after 1 day"))
        r = self.run_at("2026-03-25T00:00:00Z", expect=1)
        self.assertIn("broken.cvm:3:8: error: unknown template 'nothing_here'", r.stderr)
        self.assertIn("keep running until the files are fixed", r.stderr)
        self.assertIn("on the last good scenarios", r.stdout)
        self.assertEqual(self.db("SELECT DISTINCT scenario, version FROM enrollments"), [("lapse", version)])
        self.assertEqual(self.db("SELECT count(*) FROM scenario_versions WHERE scenario = 'b'"), [(0,)])
        self.assertEqual(len(self.files()), 3)  # c1 both steps (the old timing), c2 the first


    def test_orders_stored_late_and_first_orders_inside_a_cycle_are_handled_once(self):
        templates = self.dir / "scenarios" / "templates"
        (templates / "thanks.yaml").write_text('channel: email\nsubject: "Thanks"\ntext: "Thanks {{first_name}}"\n')
        (templates / "welcome.yaml").write_text('channel: email\nsubject: "Welcome"\ntext: "Welcome {{first_name}}"\n')
        (self.dir / "scenarios" / "lapse.cvm").unlink()
        (self.dir / "scenarios" / "orders.cvm").write_text(
            "scenario thanks {\n  on order\n  reenter after 1 hour\n  send thanks\n}\n"
            "scenario welcome {\n  on first_order\n  send welcome\n}\n")
        (self.dir / "c3.csv").write_text("customer_id,email,email_consent,first_name\nc3,cid@x.example,yes,Cid\n")
        self.cvmd("import", "customers", str(self.dir / "c3.csv"))
        self.run_at("2026-03-01T00:00:00Z")
        self.run_at("2026-03-02T00:00:00Z")
        # Stored now, stamped before the last cycle: still handled, in the next cycle, once.
        (self.dir / "late.csv").write_text("order_id,customer_id,ordered_at,amount\nlate1,c1,2026-03-01T12:00:00Z,20\n")
        self.cvmd("import", "orders", str(self.dir / "late.csv"))
        # c3's first order falls inside the next cycle: the customer keeps address and consent.
        (self.dir / "first.csv").write_text("order_id,customer_id,ordered_at,amount\nfirst3,c3,2026-03-02T09:00:00Z,30\n")
        self.cvmd("import", "orders", str(self.dir / "first.csv"))
        self.run_at("2026-03-03T00:00:00Z")
        self.run_at("2026-03-04T00:00:00Z")
        sent = self.db("SELECT customer_id, scenario, state FROM outbox ORDER BY customer_id, scenario")
        self.assertEqual(sent, [("c1", "thanks", "sent"), ("c3", "thanks", "sent"), ("c3", "welcome", "sent")])
        welcome = self.mail(next(p for p in self.outbox.glob("welcome_*c3*.eml")))
        self.assertEqual(welcome["To"].addresses[0].addr_spec, "cid@x.example")
        self.assertIn("Welcome Cid", welcome.get_body(("plain",)).get_content())

    def test_an_unsubscribe_from_sms_leaves_email(self):
        templates = self.dir / "scenarios" / "templates"
        (templates / "thanks.yaml").write_text('channel: email\nsubject: "Thanks"\ntext: "Thanks"\n')
        (self.dir / "scenarios" / "lapse.cvm").unlink()
        (self.dir / "scenarios" / "orders.cvm").write_text("scenario thanks {\n  on order\n  send thanks\n}\n")
        self.run_at("2026-03-01T00:00:00Z")
        (self.dir / "e.jsonl").write_text(
            '{"customer_id":"c1","type":"unsubscribed","at":"2026-03-01T05:00:00Z","properties":{"channel":"sms"}}\n'
            '{"customer_id":"c2","type":"unsubscribed","at":"2026-03-01T05:00:00Z","properties":{"channel":"email"}}\n')
        self.cvmd("import", "events", str(self.dir / "e.jsonl"))
        (self.dir / "o2.csv").write_text("order_id,customer_id,ordered_at,amount\n"
                                         "n1,c1,2026-03-01T10:00:00Z,20\nn2,c2,2026-03-01T10:00:00Z,20\n")
        self.cvmd("import", "orders", str(self.dir / "o2.csv"))
        self.run_at("2026-03-02T00:00:00Z")
        actions = self.db("SELECT customer_id, action, reason FROM decisions WHERE step = 1 ORDER BY customer_id")
        self.assertEqual(actions[0][:2], ("c1", "send"))
        self.assertEqual(actions[1][:2], ("c2", "suppress"))
        self.assertIn("unsubscribed from email", actions[1][2])


    def test_a_condition_turned_true_by_an_import_between_cycles_enters_then(self):
        templates = self.dir / "scenarios" / "templates"
        (templates / "pro_hello.yaml").write_text('channel: email\nsubject: "Hello"\ntext: "Hello"\n')
        (self.dir / "scenarios" / "lapse.cvm").unlink()
        (self.dir / "scenarios" / "pro.cvm").write_text('scenario pro {\n  when profile.plan = "pro"\n  send pro_hello\n}\n')
        (self.dir / "p1.csv").write_text("customer_id,plan\nc1,free\nc2,pro\n")
        self.cvmd("import", "customers", str(self.dir / "p1.csv"))
        self.run_at("2026-03-01T00:00:00Z")  # the launch: c2 enters
        self.run_at("2026-03-02T00:00:00Z")  # nothing changed: nobody
        (self.dir / "p2.csv").write_text("customer_id,plan\nc1,pro\n")
        self.cvmd("import", "customers", str(self.dir / "p2.csv"))
        self.run_at("2026-03-03T00:00:00Z")  # c1 turned pro in between: enters now
        self.run_at("2026-03-04T00:00:00Z")
        entries = self.db("SELECT customer_id, at FROM decisions WHERE action = 'enter' ORDER BY at, customer_id")
        self.assertEqual(entries, [("c2", 1772323200), ("c1", 1772409600)])  # 1 and 2 March, 00:00 UTC


if __name__ == "__main__":
    CVMD = os.path.abspath(sys.argv.pop(1))
    unittest.main()
