#!/usr/bin/env python3
"""The cvmd check command line: exit codes, formats, folders, templates lookup."""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

CVMD = None


def run(*args, cwd=None):
    return subprocess.run([CVMD, *args], capture_output=True, text=True, cwd=cwd)


class CheckCommand(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        (self.dir / "scenarios" / "nested").mkdir(parents=True)
        (self.dir / "templates").mkdir()
        (self.dir / "templates" / "hello.yaml").write_text(
            "channel: email\nsubject: Hi {{first_name}}\ntext: Hello\n")
        (self.dir / "scenarios" / "nested" / "a.cvm").write_text(
            "scenario a {\n  when lapsing\n  send hello after 1 day\n}\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_clean_folder_exits_0_and_finds_templates_beside_it(self):
        r = run("check", str(self.dir / "scenarios"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1 file checked: 0 errors, 0 warnings, 1 scenario ready", r.stdout)

    def test_error_exits_1_with_caret(self):
        bad = self.dir / "scenarios" / "b.cvm"
        bad.write_text("scenario b {\n  when lapsing\n  send helo\n}\n")
        r = run("check", str(bad), "--templates", str(self.dir / "templates"))
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{bad}:3:8: error: unknown template 'helo' (did you mean 'hello'?)", r.stdout)
        self.assertIn("   |        ^~~~", r.stdout)

    def test_missing_file_exits_2(self):
        r = run("check", str(self.dir / "nope.cvm"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such file or folder", r.stderr)

    def test_unknown_option_exits_2(self):
        self.assertEqual(run("check", "--frobnicate").returncode, 2)

    def test_missing_templates_folder_exits_2(self):
        r = run("check", str(self.dir / "scenarios"), "--templates", str(self.dir / "none"))
        self.assertEqual(r.returncode, 2)

    def test_json_format(self):
        bad = self.dir / "scenarios" / "b.cvm"
        bad.write_text("segment s = aov > \"x\"\nrule r: if s then send hello\n")
        r = run("check", "--format", "json", str(self.dir / "scenarios"))
        self.assertEqual(r.returncode, 1)
        items = json.loads(r.stdout)
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["line"], 1)
        self.assertEqual(items[0]["column"], 19)
        self.assertEqual(items[0]["severity"], "error")

    def test_werror_fails_on_warnings(self):
        (self.dir / "scenarios" / "w.cvm").write_text("segment unused = aov > 1\n")
        self.assertEqual(run("check", str(self.dir / "scenarios")).returncode, 0)
        self.assertEqual(run("check", "--werror", str(self.dir / "scenarios")).returncode, 1)

    def test_list_attributes(self):
        r = run("check", "--list-attributes")
        self.assertEqual(r.returncode, 0)
        self.assertIn("aov", r.stdout)
        self.assertIn("lapsing", r.stdout)
        data = json.loads(run("check", "--list-attributes", "--format", "json").stdout)
        self.assertIn("days_since_last_order", [a["name"] for a in data["attributes"]])

    def test_config_gives_scenarios_and_templates(self):
        (self.dir / "cvmd.yaml").write_text("scenarios: scenarios\ntemplates: templates\n")
        r = run("check", cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        (self.dir / "cvmd.yaml").write_text("scenarios: scenarios\ntemplatez: templates\n")
        r = run("check", cwd=self.dir)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cvmd.yaml:2:1: error: unknown key 'templatez'", r.stderr)

    def test_summary_explains(self):
        r = run("check", "--summary", str(self.dir / "scenarios"))
        self.assertIn("enters when lifecycle = \"lapsing\" becomes true", r.stdout)
        self.assertIn("1. after 1 day: send email 'hello'", r.stdout)
        self.assertIn("version ", r.stdout)

    def test_help_everywhere(self):
        for args in (["--help"], ["check", "--help"], ["demo", "--help"]):
            r = run(*args)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("Usage", r.stdout)


class DataCommands(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        self.store = str(self.dir / "shop.db")
        (self.dir / "orders.csv").write_text(
            "order_id,customer_id,ordered_at,amount\n"
            "a,c1,2026-01-01,100\nb,c1,2026-06-01,50\nc,c2,2026-03-01,20\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_import_then_segments_and_customer(self):
        r = run("--store", self.store, "import", "orders", str(self.dir / "orders.csv"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("3 rows: 3 new, 0 already stored", r.stdout)
        r = run("--store", self.store, "import", "orders", str(self.dir / "orders.csv"))
        self.assertIn("0 new, 3 already stored", r.stdout)
        seg = json.loads(run("--store", self.store, "segments", "--at", "2026-06-30", "--format", "json").stdout)
        lifecycle = {row["segment"]: row["customers"] for row in seg if row["dimension"] == "lifecycle"}
        self.assertEqual(lifecycle, {"active": 1, "lapsing": 1})
        c = json.loads(run("--store", self.store, "customer", "c1", "--at", "2026-06-30", "--format", "json").stdout)
        self.assertEqual(c["orders"], 2)
        self.assertEqual(c["revenue"], 150)
        self.assertEqual(c["lifecycle"], "active")
        csv_out = run("--store", self.store, "segments", "--format", "csv").stdout.splitlines()
        self.assertEqual(csv_out[0], '"dimension","segment","customers","customer_share","revenue","revenue_share","aov"')

    def test_bad_file_exits_1_and_writes_nothing(self):
        (self.dir / "bad.csv").write_text("order_id,customer_id,ordered_at,amount\nx,c9,2026-01-01,-1\n")
        r = run("--store", self.store, "import", "orders", str(self.dir / "bad.csv"))
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{self.dir / 'bad.csv'}:2: amount '-1' is negative", r.stdout)
        self.assertIn("nothing was imported", r.stdout)
        r = run("--store", self.store, "customer", "c9", "--format", "json")
        self.assertEqual(r.returncode, 1)

    def test_missing_file_and_unknown_kind(self):
        self.assertEqual(run("--store", self.store, "import", "orders", str(self.dir / "none.csv")).returncode, 1)
        self.assertEqual(run("--store", self.store, "import", "refunds", str(self.dir / "orders.csv")).returncode, 2)


class SimulateCommand(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        (self.dir / "scenarios" / "templates").mkdir(parents=True)
        (self.dir / "scenarios" / "templates" / "hello.yaml").write_text("channel: email\nsubject: Hi\ntext: Hello\n")
        (self.dir / "scenarios" / "a.cvm").write_text("scenario a {\n  when lapsing\n  send hello\n}\n")
        (self.dir / "cvmd.yaml").write_text("store: shop.db\nscenarios: scenarios\n")
        (self.dir / "orders.csv").write_text("order_id,customer_id,ordered_at,amount\na,c1,2026-01-01,10\n")
        self.config = str(self.dir / "cvmd.yaml")
        r = run("--config", self.config, "import", "orders", str(self.dir / "orders.csv"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def tearDown(self):
        self.tmp.cleanup()

    def simulate(self, *extra):
        return run("--config", self.config, "simulate", "--from", "2026-02-01", "--days", "60", *extra)

    def test_timeline_is_deterministic_and_leaves_the_store_alone(self):
        store = self.dir / "shop.db"
        before = store.read_bytes()
        first, second = self.simulate(), self.simulate()
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(first.stdout, second.stdout)
        actions = [json.loads(line)["action"] for line in first.stdout.splitlines()]
        self.assertEqual(actions, ["enter", "suppress", "exit"])  # no email consent
        self.assertEqual(store.read_bytes(), before)
        table = self.simulate("--format", "table")
        self.assertTrue(table.stdout.startswith("at "), table.stdout)

    def test_a_scenario_with_errors_is_refused_whole(self):
        (self.dir / "scenarios" / "b.cvm").write_text("scenario b {\n  when lapsing\n  send nope\n}\n")
        r = self.simulate()
        self.assertEqual(r.returncode, 1)
        self.assertIn("b.cvm:3:8: error: unknown template 'nope'", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_bad_future_events_name_their_line_and_nothing_runs(self):
        events = self.dir / "future.csv"
        events.write_text("customer_id,type,at,amount\nc1,order,2026-02-10,abc\nc1,visit,2026-01-01,\n,x,2026-02-02,\n")
        r = self.simulate("--events", str(events))
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{events}:2: amount 'abc' is not a number", r.stderr)
        self.assertIn(f"{events}:3: at 2026-01-01T00:00:00Z is before --from", r.stderr)
        self.assertIn(f"{events}:4: missing customer_id", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_missing_store_and_bad_arguments_exit_2(self):
        r = run("--store", str(self.dir / "none.db"), "--config", self.config, "simulate", "--from", "2026-02-01", "--days", "1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no store here", r.stderr)
        self.assertFalse((self.dir / "none.db").exists())
        self.assertEqual(self.simulate("--days", "0").returncode, 2)
        self.assertEqual(run("--config", self.config, "simulate", "--from", "2026-13-01", "--days", "1").returncode, 2)

    def test_a_wrong_policy_in_the_config_says_where(self):
        (self.dir / "cvmd.yaml").write_text("store: shop.db\npolicies:\n  quiet_hours: \"21-09\"\n")
        r = self.simulate()
        self.assertEqual(r.returncode, 2)
        self.assertIn("cvmd.yaml:3:16: error: policies.quiet_hours", r.stderr)
        (self.dir / "cvmd.yaml").write_text("timezone: Mars/Olympus\n")
        r = self.simulate()
        self.assertIn("cvmd.yaml:1:11: error: unknown time zone 'Mars/Olympus'", r.stderr)
        (self.dir / "cvmd.yaml").write_text("rankings:\n  refresh_every: 10 minutes\n")
        r = self.simulate()
        self.assertEqual(r.returncode, 2)
        self.assertIn("cvmd.yaml:2:18: error: rankings.refresh_every: at least 1 hour, or never", r.stderr)


if __name__ == "__main__":
    CVMD = os.path.abspath(sys.argv.pop(1))
    unittest.main()
