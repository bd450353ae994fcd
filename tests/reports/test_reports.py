#!/usr/bin/env python3
"""Outcomes, A/B statistics and reports end to end: a shop of 600 lapsing customers, two
scenarios for two halves of them (a holdout with a fixed split and control; a split
optimized for conversions),
90 days simulated with a seeded response model and recorded into a copy of the store; then
every report is checked against the store itself (sqlite3), and bad input is refused with
its place and changes nothing."""
import csv
import hashlib
import io
import json
import pathlib
import sqlite3
import subprocess
import sys
import tempfile
import unittest

from sim_shop import simulation, write_shop

CVMD = None

def sha(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


class Reports(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.dir = pathlib.Path(cls.tmp.name)
        write_shop(d)
        cls.cvmd_at(d, "import", "customers", str(d / "c.csv"))
        cls.cvmd_at(d, "import", "orders", str(d / "o.csv"))
        cls.original = sha(d / "shop.db")
        cls.sim = d / "sim.db"
        cls.cvmd_at(d, "simulate", *simulation(d), "--record-into", str(cls.sim))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @staticmethod
    def cvmd_at(d, *args, expect=0, store=None):
        cmd = [CVMD, "--config", str(d / "cvmd.yaml")] + (["--store", str(store)] if store else []) + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != expect:
            raise AssertionError(f"{' '.join(args)}: exit {r.returncode}, expected {expect}\n{r.stdout}{r.stderr}")
        return r

    def sim_cvmd(self, *args, expect=0):
        return self.cvmd_at(self.dir, *args, expect=expect, store=self.sim)

    def sql(self, query):
        with sqlite3.connect(self.sim) as c:
            return c.execute(query).fetchall()

    def ab(self, *args):
        out = self.sim_cvmd("report", "ab", *args, "--format", "json").stdout
        self.assertNotIn("nan", out.lower())
        return json.loads(out)

    def test_the_original_store_is_untouched_and_a_second_recording_is_refused(self):
        self.assertEqual(sha(self.dir / "shop.db"), self.original)
        before = sha(self.sim)
        r = self.cvmd_at(self.dir, "simulate", "--from", "2026-03-01", "--days", "1", "--record-into", str(self.sim),
                         expect=2)
        self.assertIn("never overwrites", r.stderr)
        self.assertEqual(sha(self.sim), before)

    def test_assignments_are_logged_once_with_their_probability(self):
        rows = self.sql("SELECT scenario, experiment, count(*), count(DISTINCT enrollment_id), min(probability), "
                        "max(probability) FROM assignments GROUP BY scenario, experiment ORDER BY 1, 2")
        by = {(r[0], r[1]): r[2:] for r in rows}
        self.assertIn(("remind", "holdout"), by)
        self.assertIn(("remind", "reminder_test"), by)
        self.assertIn(("offer", "offer_test"), by)
        n, distinct, low, high = by[("remind", "holdout")]
        self.assertEqual(n, distinct)
        self.assertEqual((round(low, 6), round(high, 6)), (0.1, 0.9))
        n, distinct, low, high = by[("remind", "reminder_test")]
        self.assertEqual((round(low, 6), round(high, 6)), (0.1, 0.45))
        # the optimized split: 50/50 in the warm-up, then probabilities that move
        n, distinct, low, high = by[("offer", "offer_test")]
        self.assertGreater(n, 250)
        self.assertLess(low, 0.2)
        self.assertGreater(high, 0.8)

    def test_the_optimized_split_sends_most_customers_to_the_better_variant(self):
        rows = dict(self.sql("SELECT variant, count(*) FROM assignments WHERE experiment = 'offer_test' "
                             "AND probability <> 0.5 GROUP BY variant"))
        self.assertGreater(rows.get("good", 0), 2 * rows.get("poor", 0), rows)

    def test_ab_report_matches_the_store(self):
        report = self.ab("remind")
        arms = {(r["experiment"], r["variant"]): r for r in report}
        self.assertTrue(arms[("reminder_test", "control")]["is_control"])
        self.assertTrue(arms[("holdout", "holdout")]["is_control"])
        truth = self.sql("SELECT a.experiment, a.variant, count(*), sum(e.converted) FROM assignments a "
                         "JOIN enrollments e ON e.enrollment_id = a.enrollment_id WHERE a.scenario = 'remind' "
                         "GROUP BY 1, 2")
        self.assertEqual(len(truth), len(report))
        for experiment, variant, n, converted in truth:
            arm = arms[(experiment, variant)]
            self.assertEqual(arm["recipients"], n)
            self.assertEqual(arm["successes"], converted)
            self.assertAlmostEqual(arm["rate"], converted / n, places=12)
            self.assertLessEqual(arm["rate_low"], arm["rate"])
            self.assertGreaterEqual(arm["rate_high"], arm["rate"])
        strong = arms[("reminder_test", "strong")]
        weak = arms[("reminder_test", "weak")]
        self.assertGreater(strong["p_beats_control"], 0.95)
        self.assertLess(strong["p_value"], 0.05)
        self.assertGreater(strong["rate"], weak["rate"])
        self.assertIsNone(arms[("reminder_test", "control")]["p_value"])  # no test of the control with itself
        revenue = self.sql("SELECT sum(d.revenue_cents) FROM decisions d JOIN assignments a ON a.enrollment_id = "
                           "d.enrollment_id WHERE d.action = 'convert' AND a.experiment = 'reminder_test' "
                           "AND a.variant = 'strong'")[0][0]
        self.assertAlmostEqual(strong["revenue_per_recipient"] * strong["recipients"], revenue / 100, places=6)

    def test_ab_report_weights_the_optimized_split(self):
        report = self.ab("offer")
        self.assertTrue(all(r["weighted"] for r in report))
        self.assertTrue(any("inverse" in w for w in report[0]["warnings"]))
        # Hajek: sum(converted / p) / sum(1 / p) per variant, computed here from the log
        truth = dict((v, (y / w)) for v, y, w in self.sql(
            "SELECT a.variant, sum(e.converted / a.probability), sum(1 / a.probability) FROM assignments a "
            "JOIN enrollments e ON e.enrollment_id = a.enrollment_id WHERE a.experiment = 'offer_test' GROUP BY 1"))
        for r in report:
            self.assertAlmostEqual(r["rate"], truth[r["variant"]], places=9)
            # intervals at Kish's effective size, which unequal weights make smaller
            w = self.sql(f"SELECT sum(1 / probability), sum(1 / (probability * probability)) FROM assignments "
                         f"WHERE experiment = 'offer_test' AND variant = '{r['variant']}'")[0]
            self.assertAlmostEqual(r["effective_recipients"], w[0] * w[0] / w[1], places=6)
            self.assertLess(r["effective_recipients"], r["recipients"])
        table = self.sim_cvmd("report", "ab", "offer").stdout
        self.assertIn("no variant named control", table)

    def test_scenarios_report_matches_the_store(self):
        out = self.sim_cvmd("report", "scenarios", "--format", "csv").stdout
        rows = {r["scenario"]: r for r in csv.DictReader(io.StringIO(out))}
        for scenario in ("remind", "offer"):
            entered, converted = self.sql(f"SELECT count(*), sum(converted) FROM enrollments WHERE scenario = '{scenario}'")[0]
            sent = self.sql(f"SELECT count(DISTINCT enrollment_id) FROM outbox WHERE scenario = '{scenario}' AND state = 'sent'")[0][0]
            opened = self.sql(f"SELECT count(DISTINCT o.enrollment_id) FROM events ev JOIN outbox o ON o.message_key = "
                              f"json_extract(ev.properties, '$.message_key') WHERE ev.type = 'opened' AND o.scenario = '{scenario}'")[0][0]
            r = rows[scenario]
            self.assertEqual((int(r["entered"]), int(r["converted"]), int(r["sent"]), int(r["opened"])),
                             (entered, converted, sent, opened))
            self.assertGreater(opened, 0)
        self.assertIn("holdout", rows["remind"]["suppressed"])

    def test_outcome_log_has_every_kind(self):
        out = self.sim_cvmd("report", "outcomes", "--format", "csv").stdout
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(len(rows), self.sql("SELECT count(*) FROM outcomes")[0][0])
        kinds = {r["outcome"] for r in rows}
        self.assertTrue({"assigned", "sent", "delivered", "opened", "clicked", "converted"} <= kinds, kinds)
        converted = [r for r in rows if r["outcome"] == "converted"]
        self.assertTrue(all(float(r["revenue"]) > 0 for r in converted))

    def test_segments_report_agrees_with_segments(self):
        out = self.cvmd_at(self.dir, "report", "segments", "--from", "2026-01-15", "--to", "2026-05-31",
                           "--format", "json").stdout
        rows = json.loads(out)
        last = {r["segment"]: r["customers"] for r in rows
                if r["kind"] == "size" and r["date"].startswith("2026-05-31") and r["customers"]}
        seg = json.loads(self.cvmd_at(self.dir, "segments", "--at", "2026-05-31", "--format", "json").stdout)
        lifecycle = {r["segment"]: r["customers"] for r in seg if r["dimension"] == "lifecycle"}
        self.assertEqual(last, lifecycle)
        moved = [r for r in rows if r["kind"] == "migration"]
        self.assertEqual(sum(r["customers"] for r in moved), 600)
        self.assertTrue(any(r["segment"] == "active" and r["to_segment"] == "inactive" for r in moved) or
                        any(r["segment"] == "new" and r["to_segment"] in ("lapsing", "inactive") for r in moved))
        table = self.cvmd_at(self.dir, "report", "segments", "--from", "2026-01-15", "--to", "2026-05-31").stdout
        self.assertIn("migration", table)

    def test_html_report_is_self_contained_with_every_chart(self):
        out = self.dir / "report.html"
        r = self.sim_cvmd("report", "html", "-o", str(out), "--at", "2026-05-31")
        self.assertIn(str(out), r.stdout)
        page = out.read_text()
        for kind in ("share_bars", "flow", "heatmap", "funnel", "interval_bars"):
            self.assertIn(f'data-chart="{kind}"', page)
        self.assertNotIn("nan", page.lower().replace("nanos", ""))
        self.assertNotIn("<script", page)
        for attribute in ("src=\"http", "href=\"http", "url(http", "@import"):
            self.assertNotIn(attribute, page)

    def test_response_model_errors_say_where_and_nothing_is_recorded(self):
        bad = self.dir / "bad_model.yaml"
        bad.write_text("seed: 1\ntemplates:\n  strong: {open: 1.5}\n")
        target = self.dir / "never.db"
        r = self.cvmd_at(self.dir, "simulate", "--from", "2026-03-01", "--days", "5", "--respond", str(bad),
                         "--record-into", str(target), expect=1)
        self.assertIn(f"{bad}:3:", r.stderr)
        self.assertIn("between 0 and 1", r.stderr)
        self.assertFalse(target.exists())
        bad.write_text("seed: 1\ntemplates:\n  [a, b]: {open: 0.5}\n")  # a key that is no name
        r = self.cvmd_at(self.dir, "simulate", "--from", "2026-03-01", "--days", "5", "--respond", str(bad),
                         "--record-into", str(target), expect=1)
        self.assertIn(f"{bad}:3:", r.stderr)
        self.assertFalse(target.exists())


class OptimizedForClicks(unittest.TestCase):
    """A split optimized for clicks with a control that sends nothing, beside a newsletter
    every customer clicks a lot, and quiet hours that hold most steps back: a click counts
    only for the enrollment whose message it was, and a step held back keeps its variant."""

    def test_clicks_on_other_messages_do_not_teach_the_split_and_held_steps_keep_their_variant(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = pathlib.Path(tmp)
            (d / "scenarios" / "templates").mkdir(parents=True)
            for name in ("news", "offer"):
                (d / "scenarios" / "templates" / f"{name}.yaml").write_text(
                    f'channel: email\nsubject: "{name}"\ntext: "Hi"\n')
            (d / "scenarios" / "s.cvm").write_text(
                "scenario newsletter { when lapsing\n send email news }\n"
                "scenario win { when lapsing\n quiet hours 00:00-23:00\n"
                "  split offer_test optimize for clicks warmup 20 { offer: 50% send email offer\n control: 50% } }\n")
            (d / "cvmd.yaml").write_text("store: shop.db\nscenarios: scenarios\n")
            (d / "model.yaml").write_text("seed: 3\nbaseline: {order: 0}\ntemplates:\n"
                                          "  news: {open: 0.9, click: 0.9, order: 0}\n"
                                          "  offer: {open: 0.5, click: 0.4, order: 0}\n")
            (d / "c.csv").write_text("customer_id,email,email_consent\n" +
                                     "".join(f"c{i},c{i}@x.example,yes\n" for i in range(400)))
            (d / "o.csv").write_text("order_id,customer_id,ordered_at,amount\n" +
                                     "".join(f"o{i},c{i},2026-01-{1 + i % 28:02d}T10:00:00Z,20\n" for i in range(400)))
            run = lambda *a: Reports.cvmd_at(d, *a)
            run("import", "customers", str(d / "c.csv"))
            run("import", "orders", str(d / "o.csv"))
            run("simulate", "--from", "2026-03-01", "--days", "60", "--respond", str(d / "model.yaml"),
                "--record-into", str(d / "sim.db"))
            with sqlite3.connect(d / "sim.db") as c:
                mismatched = c.execute(
                    "SELECT count(*) FROM assignments a JOIN outbox o ON o.enrollment_id = a.enrollment_id "
                    "WHERE a.experiment = 'offer_test' AND o.variant <> a.variant").fetchone()[0]
                self.assertEqual(mismatched, 0)
                mismatched = c.execute(
                    "SELECT count(*) FROM assignments a JOIN enrollments e ON e.enrollment_id = a.enrollment_id "
                    "WHERE a.experiment = 'offer_test' AND e.variant <> a.variant").fetchone()[0]
                self.assertEqual(mismatched, 0)
                adaptive = c.execute("SELECT variant, max(probability), count(*) FROM assignments "
                                     "WHERE experiment = 'offer_test' AND probability <> 0.5 GROUP BY 1").fetchall()
            by = {v: (p, n) for v, p, n in adaptive}
            self.assertIn("offer", by)
            # the control never sends, so it never earns a click: it soon keeps only the floor
            self.assertLess(by.get("control", (0, 0))[0], 0.3, by)


class OutcomesFile(unittest.TestCase):
    """`cvmd report ab --outcomes FILE`: results exported from elsewhere, and bad input."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        (self.dir / "cvmd.yaml").write_text("store: none.db\n")

    def tearDown(self):
        self.tmp.cleanup()

    def report(self, text, expect=0, fmt="table"):
        path = self.dir / "outcomes.csv"
        path.write_text(text)
        r = subprocess.run([CVMD, "--config", str(self.dir / "cvmd.yaml"), "report", "ab", "--outcomes", str(path),
                            "--format", fmt], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, expect, r.stdout + r.stderr)
        self.assertNotIn("nan", (r.stdout + r.stderr).lower())
        self.assertFalse((self.dir / "none.db").exists())  # a file report never creates a store
        return r

    @staticmethod
    def rows(experiment, variant, n, converted, revenue="25.00", start=0):
        return "".join(f"{experiment},{variant},{variant}{start + i},{'yes' if i < converted else 'no'},"
                       f"{revenue if i < converted else '0'}\n" for i in range(n))

    def test_a_clear_winner(self):
        text = "experiment,variant,customer_id,converted,revenue\n" + self.rows("subj", "control", 1000, 50) + \
            self.rows("subj", "b", 1000, 80)
        arms = json.loads(self.report(text, fmt="json").stdout)
        b = next(a for a in arms if a["variant"] == "b")
        self.assertAlmostEqual(b["uplift"], 0.03, places=12)
        self.assertLess(b["p_value"], 0.01)
        self.assertGreater(b["p_beats_control"], 0.99)
        self.assertIn("P(best)", self.report(text).stdout)

    def test_bad_rows_are_named_by_line_and_nothing_is_reported(self):
        text = "experiment,variant,customer_id,converted,revenue\nx,control,a,yes,1\nx,b,b,maybe,1\nx,b,a,no,0\n" \
               "x,b,c,no,-3\n"
        r = self.report(text, expect=1)
        self.assertIn("outcomes.csv:3: converted", r.stderr)
        self.assertIn("outcomes.csv:4: customer a appears twice in experiment x (first on line 2)", r.stderr)
        self.assertIn("outcomes.csv:5: revenue", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_a_file_without_the_columns_or_with_objects_as_names_is_refused(self):
        r = self.report("experiment,variant,customer\n", expect=1)
        self.assertIn("outcomes.csv:1: the header has no column 'customer_id'", r.stderr)
        self.assertIn("outcomes.csv:1: the header has no column 'converted'", r.stderr)
        path = self.dir / "outcomes.jsonl"
        path.write_text('{"experiment": {"x": 1}, "variant": "a", "customer_id": "c1", "converted": true}\n'
                        '{"experiment": "e", "variant": ["b"], "customer_id": "c2", "converted": false}\n')
        r = subprocess.run([CVMD, "--config", str(self.dir / "cvmd.yaml"), "report", "ab", "--outcomes", str(path)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("outcomes.jsonl:1: experiment must be a text", r.stderr)
        self.assertIn("outcomes.jsonl:2: variant must be a text", r.stderr)
        r = subprocess.run([CVMD, "--config", str(self.dir / "cvmd.yaml"), "report", "ab", "--outcomes", str(path),
                            "--metric", "clicks"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)

    def test_no_recipients_at_all(self):
        r = self.report("experiment,variant,customer_id,converted,revenue\n")
        self.assertIn("no experiments", r.stdout)

    def test_a_missing_control_is_said_plainly(self):
        r = self.report("experiment,variant,customer_id,converted,revenue\n" + self.rows("e", "a", 200, 20) +
                        self.rows("e", "b", 200, 30))
        self.assertIn("no variant named control", r.stdout)
        arms = json.loads(self.report("experiment,variant,customer_id,converted,revenue\n" + self.rows("e", "a", 200, 20) +
                                      self.rows("e", "b", 200, 30), fmt="json").stdout)
        self.assertTrue(all(a["p_value"] is None and a["uplift"] is None for a in arms))
        self.assertTrue(all(a["p_best"] is not None for a in arms))

    def test_no_conversions_and_identical_outcomes(self):
        r = self.report("experiment,variant,customer_id,converted,revenue\n" + self.rows("e", "control", 300, 0) +
                        self.rows("e", "b", 300, 0))
        self.assertIn("no difference can be measured", r.stdout.lower().replace("\n  ", " "))
        r = self.report("experiment,variant,customer_id,converted,revenue\n" + self.rows("e", "control", 300, 30) +
                        self.rows("e", "b", 300, 0))
        self.assertIn("no conversions", r.stdout)
        self.assertNotIn("e+", r.stdout)

    def test_a_variant_without_recipients_is_not_compared(self):
        r = self.report("experiment,variant,customer_id,converted,revenue\n" + self.rows("e", "control", 5, 1))
        self.assertIn("only one", r.stdout.lower())


if __name__ == "__main__":
    CVMD = sys.argv.pop(1)
    unittest.main()
