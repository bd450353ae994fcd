"""A small shop in a temporary folder for the connector tests: customers (one with markup
and accents in her name, one without an email address), orders, templates, a config whose
connectors point at the servers the test started."""
import email
import email.policy
import os
import pathlib
import sqlite3
import subprocess
import tempfile

SECRET = "test-link-secret-0123456789"
PUBLIC_URL = "https://shop.example/cvmd"

CUSTOMERS = """customer_id,email,phone,first_name,last_name,email_consent,sms_consent
c1,zoe@x.example,+4915112345678,Zoë <b>,Müller & Co,yes,yes
c2,bob@x.example,+4915187654321,Bob,Stone,yes,yes
c3,,+4915100000003,Cid,,yes,yes
"""
ORDERS = """order_id,customer_id,ordered_at,amount
o1,c1,2026-01-10T10:00:00Z,80
o2,c2,2026-01-11T10:00:00Z,60
o3,c3,2026-01-12T10:00:00Z,70
"""
WELCOME = """channel: email
subject: "{{first_name}}, 20 % für dich – nur heute"
text: |
  Hallo {{first_name}},
  dein Rabatt wartet. Ein Punkt am Zeilenanfang:
  .so bleibt er.
  Abmelden: {{unsubscribe_url}}
html: |
  <html><body><p>Hallo {{first_name}},</p>
  <p><a href="https://shop.example/sale?a=1&b=2">Zum Sale</a> oder <a href='mailto:help@shop.example'>Hilfe</a></p>
  <p><a href="{{unsubscribe_url}}">Abmelden</a></p></body></html>
"""
REMINDER_SMS = """channel: sms
text: "{{first_name}}: -20% auf alles 🎉 bis Sonntag"
"""
SCENARIO = """scenario hello {
  when orders >= 1
  send email welcome
}
"""


class Shop:
    def __init__(self, cvmd, connectors_yaml, extra_yaml="", env=None):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        self.cvmd_path = cvmd
        self.env = dict(os.environ, CVMD_LINK_SECRET=SECRET, **(env or {}))
        (self.dir / "scenarios" / "templates").mkdir(parents=True)
        (self.dir / "scenarios" / "templates" / "welcome.yaml").write_text(WELCOME)
        (self.dir / "scenarios" / "templates" / "reminder_sms.yaml").write_text(REMINDER_SMS)
        (self.dir / "scenarios" / "hello.cvm").write_text(SCENARIO)
        (self.dir / "cvmd.yaml").write_text(
            "store: shop.db\nscenarios: scenarios\n"
            f"server:\n  public_url: \"{PUBLIC_URL}\"\n  link_secret: \"${{CVMD_LINK_SECRET}}\"\n"
            f"connectors:\n{connectors_yaml}{extra_yaml}")
        (self.dir / "c.csv").write_text(CUSTOMERS)
        (self.dir / "o.csv").write_text(ORDERS)
        self.cvmd("import", "customers", str(self.dir / "c.csv"))
        self.cvmd("import", "orders", str(self.dir / "o.csv"))

    def cvmd(self, *args, expect=0):
        r = subprocess.run([self.cvmd_path, "--config", str(self.dir / "cvmd.yaml"), *args],
                           capture_output=True, text=True, env=self.env, timeout=120)
        if expect is not None and r.returncode != expect:
            raise AssertionError(f"cvmd {' '.join(args)}: exit {r.returncode}, expected {expect}\n{r.stdout}{r.stderr}")
        return r

    def add_buyers(self, numbers):
        """Customers c<N> with an email address and one order each, for runs of many messages."""
        header = "customer_id,email,phone,first_name,last_name,email_consent,sms_consent\n"
        (self.dir / "more.csv").write_text(header + "".join(f"c{i},c{i}@x.example,,N{i},,yes,no\n" for i in numbers))
        (self.dir / "more_orders.csv").write_text(
            "order_id,customer_id,ordered_at,amount\n" + "".join(f"m{i},c{i},2026-01-05T10:00:00Z,10\n" for i in numbers))
        self.cvmd("import", "customers", str(self.dir / "more.csv"))
        self.cvmd("import", "orders", str(self.dir / "more_orders.csv"))

    def db(self, sql, *params):
        with sqlite3.connect(self.dir / "shop.db") as c:
            return c.execute(sql, params).fetchall()

    def close(self):
        self.tmp.cleanup()


def parse_mail(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)
