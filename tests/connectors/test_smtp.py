"""Email through real SMTP servers: aiosmtpd captures what arrives (parsed with Python's
email package), Postfix's smtp-sink refuses on demand, and raw sockets play the broken
gateways (down, hanging, answering garbage)."""
import base64
import re
import sys
import time
import unittest

import servers
from shop import PUBLIC_URL, SECRET, Shop, parse_mail

CVMD = sys.argv.pop(1) if len(sys.argv) > 1 else "cvmd"


def smtp_connector(port, extra=""):
    return (f"  email:\n    type: smtp\n    url: \"smtp://127.0.0.1:{port}\"\n"
            f"    from: \"SShop Team <news@shop.example>\"\n    timeout: 3 seconds\n{extra}")


class CapturedMail(unittest.TestCase):
    def setUp(self):
        self.smtp = servers.CapturingSmtp(__import__("tempfile").mkdtemp())
        self.shop = Shop(CVMD, smtp_connector(self.smtp.port, "    concurrency: 2\n"))

    def tearDown(self):
        self.smtp.close()
        self.shop.close()

    def wait_for(self, count):
        deadline = time.time() + 10
        while len(self.smtp.messages()) < count and time.time() < deadline:
            time.sleep(0.05)
        return [parse_mail(m) for m in self.smtp.messages()]

    def test_a_test_send_arrives_as_a_well_formed_multipart_mail(self):
        r = self.shop.cvmd("send", "welcome", "--customer", "c1")
        self.assertIn("sent 'welcome' to zoe@x.example through email (smtp)", r.stdout)
        [mail] = self.wait_for(1)
        self.assertEqual(mail.get_content_type(), "multipart/alternative")
        self.assertEqual([p.get_content_type() for p in mail.iter_parts()], ["text/plain", "text/html"])
        # RFC 2047 headers decode to the exact UTF-8 text; personalisation verbatim there.
        self.assertEqual(mail["Subject"], "Zoë <b>, 20 % für dich – nur heute")
        self.assertEqual(mail["From"].addresses[0].display_name, "SShop Team")
        self.assertEqual(mail["To"].addresses[0].addr_spec, "zoe@x.example")
        self.assertEqual(mail["To"].addresses[0].display_name, "Zoë <b> Müller & Co")
        self.assertRegex(mail["Message-ID"], r"^<[0-9a-f]{32}\.cvmd@shop\.example>$")
        self.assertIsNotNone(email_date(mail["Date"]))
        self.assertTrue(mail["X-Cvmd-Key"].startswith("send:welcome:c1:"))
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        self.assertIn("Hallo Zoë <b>,", text)  # plain text: verbatim
        self.assertIn("\n.so bleibt er.", text)  # a leading dot survives SMTP
        self.assertIn("<p>Hallo Zoë &lt;b&gt;,</p>", html)  # HTML: escaped
        self.assertNotIn("<b>,", html)
        # One-click unsubscribe (RFC 8058), signed for this customer, channel and message.
        self.assertEqual(mail["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        unsubscribe = re.fullmatch(r"<(.*)>", mail["List-Unsubscribe"].strip()).group(1)
        claim = servers.verify_link(unsubscribe, PUBLIC_URL, SECRET)
        self.assertEqual((claim["kind"], claim["customer"], claim["channel"], claim["key"]),
                         ("u", "c1", "email", mail["X-Cvmd-Key"]))
        self.assertIn("Abmelden: " + unsubscribe, text)
        # Links to the shop become signed click links to the same target; mailto and the
        # unsubscribe link stay; an open pixel is added.
        hrefs = re.findall(r'href=["\']([^"\']*)["\']', html)
        clicks = [servers.verify_link(h, PUBLIC_URL, SECRET) for h in hrefs if "/c/" in h]
        self.assertEqual([c["url"] for c in clicks], ["https://shop.example/sale?a=1&b=2"])
        self.assertIn("mailto:help@shop.example", hrefs)
        self.assertIn(unsubscribe, hrefs)
        [pixel] = re.findall(r'<img src="([^"]*)"', html)
        self.assertEqual(servers.verify_link(pixel, PUBLIC_URL, SECRET)["kind"], "o")
        forged = unsubscribe[:-3] + ("AAA" if not unsubscribe.endswith("AAA") else "BBB")
        with self.assertRaises(ValueError):
            servers.verify_link(forged, PUBLIC_URL, SECRET)
        # On record in the outbox, with the server's queue id.
        [(state, provider)] = self.shop.db("SELECT state, provider_id FROM outbox")
        self.assertEqual(state, "sent")
        self.assertTrue(provider)

    def test_a_run_sends_each_planned_mail_once_and_refuses_a_customer_without_address(self):
        r = self.shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        self.assertIn("2 sent", r.stdout)
        self.assertIn("1 failed", r.stdout)
        mails = self.wait_for(2)
        self.assertEqual(sorted(m["To"].addresses[0].addr_spec for m in mails), ["bob@x.example", "zoe@x.example"])
        self.assertEqual(self.shop.db("SELECT customer_id, state, detail FROM outbox WHERE state != 'sent'"),
                         [("c3", "failed", "the customer has no email address")])
        self.shop.cvmd("run", "--once", "--now", "2026-02-02T00:00:00Z")
        time.sleep(0.3)
        self.assertEqual(len(self.smtp.messages()), 2)
        listing = self.shop.cvmd("outbox", "--state", "failed", "--format", "csv").stdout
        self.assertIn("the customer has no email address", listing)

    def test_consent_withdrawn_after_planning_discards_the_message(self):
        self.smtp.close()  # the gateway is down: the messages wait
        self.shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        (self.shop.dir / "e.jsonl").write_text(
            '{"customer_id":"c1","type":"unsubscribed","at":"2026-02-01T06:00:00Z","properties":{"channel":"email"}}\n')
        self.shop.cvmd("import", "events", str(self.shop.dir / "e.jsonl"))
        (self.shop.dir / "c2.csv").write_text("customer_id,email_consent\nc2,no\n")
        self.shop.cvmd("import", "customers", str(self.shop.dir / "c2.csv"))
        self.smtp = servers.CapturingSmtp(__import__("tempfile").mkdtemp())
        config = self.shop.dir / "cvmd.yaml"
        config.write_text(re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{self.smtp.port}", config.read_text()))
        self.shop.cvmd("run", "--once", "--now", "2026-02-02T00:00:00Z")
        rows = self.shop.db("SELECT customer_id, state, detail FROM outbox WHERE customer_id != 'c3' ORDER BY 1")
        self.assertEqual([(c, s) for c, s, d in rows], [("c1", "discarded"), ("c2", "discarded")])
        self.assertIn("unsubscribed from email", rows[0][2])
        self.assertIn("no email consent", rows[1][2])
        time.sleep(0.3)
        self.assertEqual(self.smtp.messages(), [])

    def test_a_template_with_a_value_missing_for_the_customer_is_not_sent_with_a_gap(self):
        (self.shop.dir / "scenarios" / "templates" / "welcome.yaml").write_text(
            'channel: email\nsubject: "Hi"\ntext: "Dear {{last_name}}"\n')
        r = self.shop.cvmd("send", "welcome", "--customer", "c3", expect=1)
        self.assertIn("{{last_name}} is empty for customer c3", r.stderr)
        time.sleep(0.2)
        self.assertEqual(self.smtp.messages(), [])

    def test_messages_of_a_broken_template_wait_with_the_reason_and_go_once_it_is_fixed(self):
        self.smtp.close()  # the gateway is down when the messages are planned
        self.shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        self.assertEqual(len(self.shop.db("SELECT * FROM outbox WHERE state = 'pending'")), 2)
        template = self.shop.dir / "scenarios" / "templates" / "welcome.yaml"
        good = template.read_text()
        template.write_text(good.replace("{{first_name}}, 20 %", "{{first_name, 20 %"))
        self.smtp = servers.CapturingSmtp(__import__("tempfile").mkdtemp())
        config = self.shop.dir / "cvmd.yaml"
        config.write_text(re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{self.smtp.port}", config.read_text()))
        r = self.shop.cvmd("run", "--once", "--now", "2026-02-02T00:00:00Z", expect=1)
        self.assertIn("(on the last good scenarios: the files have errors)", r.stdout)
        self.assertIn("2 waiting", r.stdout)
        listing = self.shop.cvmd("outbox", "--state", "pending", "--format", "json").stdout
        self.assertRegex(listing, r"template 'welcome' has errors: [^\"]*welcome\.yaml:2:\d+")
        self.assertEqual(self.smtp.messages(), [])
        template.write_text(good)
        r = self.shop.cvmd("run", "--once", "--now", "2026-02-03T00:00:00Z")
        self.assertIn("2 sent", r.stdout)
        self.assertEqual(len(self.wait_for(2)), 2)

    def test_a_broken_template_is_refused_with_its_place(self):
        (self.shop.dir / "scenarios" / "templates" / "welcome.yaml").write_text(
            'channel: email\nsubject: "Hi {{first_name"\ntext: "x"\n')
        r = self.shop.cvmd("send", "welcome", "--customer", "c1", expect=1)
        self.assertRegex(r.stderr, r"welcome\.yaml:2:\d+: error:")
        self.assertIn("nothing was sent", r.stderr)


def email_date(value):
    import email.utils
    return email.utils.parsedate_to_datetime(value)


class FailingGateways(unittest.TestCase):
    """Whatever the gateway does, the message is kept: retried with backoff, or refused for
    good with the server's words; never lost, never sent twice."""

    def make_shop(self, port, extra_yaml=""):
        self.shop = Shop(CVMD, smtp_connector(port), extra_yaml)
        self.addCleanup(self.shop.close)
        return self.shop

    def outcome(self):
        return self.shop.db("SELECT customer_id, state, attempts, detail FROM outbox ORDER BY customer_id")

    def test_a_soft_refusal_is_retried_and_a_hard_one_is_final(self):
        sink = servers.SmtpSink("-r", "RCPT")
        self.addCleanup(sink.close)
        shop = self.make_shop(sink.port)
        shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        rows = [r for r in self.outcome() if r[0] != "c3"]
        self.assertEqual([(c, s, a) for c, s, a, _ in rows], [("c1", "pending", 1), ("c2", "pending", 1)])
        self.assertIn("450", rows[0][3])
        sink.close()
        hard = servers.SmtpSink("-f", "RCPT")
        self.addCleanup(hard.close)
        (shop.dir / "cvmd.yaml").write_text((shop.dir / "cvmd.yaml").read_text().replace(str(sink.port), str(hard.port)))
        shop.cvmd("run", "--once", "--now", "2026-02-02T00:00:00Z")
        rows = [r for r in self.outcome() if r[0] != "c3"]
        self.assertEqual([(c, s, a) for c, s, a, _ in rows], [("c1", "failed", 2), ("c2", "failed", 2)])
        self.assertIn("500", rows[0][3])

    def test_a_refused_sender_waits_for_an_operator_instead_of_failing_every_message(self):
        sink = servers.SmtpSink("-f", "MAIL")
        self.addCleanup(sink.close)
        shop = self.make_shop(sink.port)
        shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        rows = [r for r in self.outcome() if r[0] != "c3"]
        self.assertEqual([(c, s) for c, s, a, d in rows], [("c1", "pending"), ("c2", "pending")])
        self.assertIn("500", rows[0][3])

    def test_credentials_are_only_sent_over_tls_even_when_it_is_not_required(self):
        sink = servers.SmtpSink()  # offers no STARTTLS: the login would go in clear text
        self.addCleanup(sink.close)
        shop = Shop(CVMD, smtp_connector(sink.port, "    username: mailer\n    password: \"${SMTP_PASSWORD}\"\n"),
                    env={"SMTP_PASSWORD": "clear-text-risk"})
        self.addCleanup(shop.close)
        r = shop.cvmd("send", "welcome", "--customer", "c1", expect=1)
        self.assertIn("SSL", r.stderr.upper())

    def test_a_connection_closed_in_the_middle_is_retried_and_then_dead_lettered(self):
        sink = servers.SmtpSink("-q", "DATA")
        self.addCleanup(sink.close)
        shop = self.make_shop(sink.port, "delivery:\n  max_attempts: 2\n  backoff: 1 minute\n")
        shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        self.assertEqual([s for c, s, a, d in self.outcome() if c != "c3"], ["pending", "pending"])
        shop.cvmd("run", "--once", "--now", "2026-02-01T01:00:00Z")
        self.assertEqual([(s, a) for c, s, a, d in self.outcome() if c != "c3"], [("dead", 2), ("dead", 2)])
        listing = shop.cvmd("outbox", "--state", "dead").stdout
        self.assertIn("dead: 2", listing)
        # The operator fixes the gateway and queues them again.
        r = shop.cvmd("outbox", "retry", "--all")
        self.assertIn("2 messages queued again", r.stdout)
        sink.close()
        good = servers.SmtpSink()
        self.addCleanup(good.close)
        (shop.dir / "cvmd.yaml").write_text((shop.dir / "cvmd.yaml").read_text().replace(str(sink.port), str(good.port)))
        r = shop.cvmd("run", "--once", "--now", "2026-02-01T02:00:00Z")
        self.assertIn("2 sent", r.stdout)
        shop.cvmd("outbox", "discard", "--all", "--from", "failed")
        self.assertEqual(sorted(s for c, s, a, d in self.outcome()), ["discarded", "sent", "sent"])

    def test_a_gateway_that_is_down_hangs_or_talks_garbage_is_retried(self):
        down = servers.free_port()
        hanging = servers.RawServer(None)
        garbage = servers.RawServer(b"999 this is no mail server\r\n")
        self.addCleanup(hanging.close)
        self.addCleanup(garbage.close)
        for port, words in ((down, "connect"), (hanging, "timeout"), (garbage, "weird server reply")):
            port = getattr(port, "port", port)
            with self.subTest(port=port):
                shop = self.make_shop(port)
                started = time.time()
                r = shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
                self.assertLess(time.time() - started, 30)
                rows = [x for x in self.outcome() if x[0] != "c3"]
                self.assertEqual([(s, a) for c, s, a, d in rows], [("pending", 1), ("pending", 1)], r.stderr)
                self.assertIn(words, rows[0][3].lower())

    def test_the_rate_limit_spaces_messages(self):
        sink = servers.SmtpSink()
        self.addCleanup(sink.close)
        shop = self.make_shop(sink.port)
        config = shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace("    timeout: 3 seconds\n",
                                                     "    timeout: 3 seconds\n    rate: 240 per minute\n    concurrency: 2\n"))
        shop.add_buyers(range(10, 22))
        started = time.time()
        r = shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        elapsed = time.time() - started
        self.assertIn("14 sent", r.stdout)
        # 4 a second with a burst of 4: the 11 messages after the burst need 2.75 s.
        self.assertGreaterEqual(elapsed, 2.7)

    def test_the_breaker_pauses_a_failing_gateway_without_counting_attempts(self):
        shop = self.make_shop(servers.free_port(), "delivery:\n  breaker_failures: 1\n")
        shop.add_buyers(range(10, 16))
        r = shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        self.assertIn("1 to retry, 8 waiting", r.stdout)
        waiting = shop.db("SELECT attempts, detail FROM outbox WHERE attempts = 0")
        self.assertEqual(len(waiting), 8)
        self.assertIn("paused", waiting[0][1])


class Transaction(unittest.TestCase):
    """MAIL, RCPT, DATA and the message as cvmd sends them after libcurl has opened the
    connection: pipelined when offered, a refusal that leaves the connection usable, a kept
    connection that the server closed meanwhile."""

    def shop_for(self, server, extra=""):
        shop = Shop(CVMD, smtp_connector(server.port, "    concurrency: 1\n" + extra))
        self.addCleanup(shop.close)
        return shop

    def server(self, **options):
        server = servers.ScriptedSmtp(**options)
        self.addCleanup(server.close)
        return server

    def outcome(self, shop):
        return {c: (s, a, d) for c, s, a, d in shop.db("SELECT customer_id, state, attempts, detail FROM outbox")
                if c != "c3"}

    def send_six_once(self, server, shop):
        """Four more buyers, one cycle: the six welcome mails arrive, each once."""
        shop.add_buyers(range(10, 14))
        r = shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        self.assertIn("6 sent", r.stdout)
        self.assertEqual(sorted(rcpt for [rcpt], _ in server.messages),
                         sorted(["zoe@x.example", "bob@x.example"] + [f"c{i}@x.example" for i in range(10, 14)]))

    def test_commands_go_in_one_write_when_the_server_offers_pipelining_and_one_by_one_when_not(self):
        for pipelining in (True, False):
            with self.subTest(pipelining=pipelining):
                server = self.server(pipelining=pipelining)
                shop = self.shop_for(server)
                self.send_six_once(server, shop)
                self.assertEqual(server.connections, 1)
                with_mail = [chunk for _, chunk in server.chunks if b"MAIL FROM:" in chunk]
                self.assertEqual(len(with_mail), 6)
                together = [b"RCPT TO:" in chunk and b"DATA\r\n" in chunk for chunk in with_mail]
                self.assertEqual(together, [pipelining] * 6)
                # Dot-stuffed on the wire, whole again at the other end; the queue id from
                # the last line of a multi-line reply.
                self.assertTrue(any(b"\r\n..so bleibt er." in chunk for _, chunk in server.chunks))
                zoe = next(body for [rcpt], body in server.messages if rcpt == "zoe@x.example")
                self.assertIn(b"\r\n.so bleibt er.", zoe)
                ids = sorted(i for (i,) in shop.db("SELECT provider_id FROM outbox WHERE state = 'sent'"))
                self.assertEqual(ids, sorted(f"S{n}" for n in range(1, 7)))

    def test_a_refused_recipient_fails_alone_and_the_connection_goes_on(self):
        # c10 goes first (the outbox is sent in key order): the others follow on its connection.
        for reply, state in (("550 5.1.1 <c10@x.example>: no such user", "failed"), ("450 4.2.1 mailbox busy", "pending")):
            for lenient in (True, False):
                with self.subTest(reply=reply, lenient=lenient):
                    server = self.server(refuse={"c10@x.example": reply}, lenient=lenient)
                    shop = self.shop_for(server)
                    shop.add_buyers(range(10, 14))
                    r = shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
                    self.assertIn("5 sent", r.stdout)
                    outcome = self.outcome(shop)
                    self.assertEqual(outcome["c10"][:2], (state, 1))
                    self.assertIn(reply, outcome["c10"][2])
                    self.assertEqual({s for c, (s, a, d) in outcome.items() if c != "c10"}, {"sent"})
                    self.assertNotIn("c10@x.example", [rcpt for [rcpt], _ in server.messages])
                    self.assertEqual(len(server.messages), 5)
                    self.assertEqual(server.connections, 1)
                    commands = [command for _, command in server.commands]
                    self.assertEqual(commands[commands.index("RCPT TO:<c10@x.example>") + 1:][:2],
                                     ["DATA", "RSET"])

    def test_a_kept_connection_the_server_closed_meanwhile_is_opened_again_without_losing_or_repeating(self):
        server = self.server(idle_close=0.3)
        shop = self.shop_for(server, "    rate: 60 per minute\n")  # a message a second: longer than the server waits
        shop.add_buyers([10])
        r = shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        self.assertIn("3 sent", r.stdout)
        self.assertEqual({(s, a) for s, a, d in self.outcome(shop).values()}, {("sent", 1)})
        self.assertEqual(sorted(rcpt for [rcpt], _ in server.messages), ["bob@x.example", "c10@x.example", "zoe@x.example"])
        self.assertEqual(server.connections, 3)


    def test_a_server_that_ends_replies_with_a_bare_line_feed_gets_each_message_once(self):
        server = self.server(line_end=b"\n")
        shop = self.shop_for(server)
        shop.add_buyers(range(10, 14))
        r = shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        self.assertIn("6 sent", r.stdout)
        self.assertEqual(len(server.messages), 6)
        self.assertEqual({(s, a) for s, a, d in self.outcome(shop).values()}, {("sent", 1)})

    def test_a_421_to_mail_on_a_kept_connection_costs_no_attempt(self):
        server = self.server(after=(2, "421"))
        shop = self.shop_for(server)
        self.send_six_once(server, shop)
        self.assertEqual({(s, a) for s, a, d in self.outcome(shop).values()}, {("sent", 1)})
        self.assertEqual(server.connections, 3)

    def test_a_server_that_stops_answering_costs_one_timeout_not_more(self):
        server = self.server(after=(1, "hang"))
        shop = self.shop_for(server)
        config = shop.dir / "cvmd.yaml"
        config.write_text(config.read_text().replace("timeout: 3 seconds", "timeout: 1 second"))
        started = time.time()
        shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        elapsed = time.time() - started
        outcome = self.outcome(shop)
        self.assertEqual(outcome["c1"][:2], ("sent", 1))
        # Not tried again on a new connection within the same message: its time is spent.
        self.assertEqual(outcome["c2"][:2], ("pending", 1))
        self.assertIn("timeout", outcome["c2"][2])
        self.assertEqual(server.connections, 1)
        self.assertLess(elapsed, 2.5)

    def test_a_refusal_read_before_the_connection_broke_still_decides(self):
        server = self.server(refuse={"c10@x.example": "550 5.1.1 no such user"}, close_on_refused_data=True)
        shop = self.shop_for(server)
        shop.add_buyers(range(10, 12))
        shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        outcome = self.outcome(shop)
        self.assertEqual(outcome["c10"][:2], ("failed", 1))
        self.assertIn("550 5.1.1 no such user", outcome["c10"][2])
        self.assertEqual({s for c, (s, a, d) in outcome.items() if c != "c10"}, {"sent"})

    def test_replies_that_are_not_smtp_are_retried_and_the_queue_id_is_one_word(self):
        for final, state, provider in ((b"250-2.0.0 Ok\r\n451 4.3.0 a different code\r\n", "pending", None),
                                       (b"250-2.0.0 Ok: queued as ABC\r\n250 2.0.0 Bye\r\n", "sent", "ABC")):
            with self.subTest(final=final):
                server = self.server(final_reply=final)
                shop = self.shop_for(server)
                shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
                [(got_state, got_provider, detail)] = shop.db(
                    "SELECT state, provider_id, detail FROM outbox WHERE customer_id = 'c1'")
                self.assertEqual(got_state, state, detail)
                if provider:
                    self.assertEqual(got_provider, provider)
                else:
                    self.assertIn("weird server reply", detail)

    def test_international_addresses_go_as_a_labels_or_with_smtputf8(self):
        for smtputf8 in (False, True):
            with self.subTest(smtputf8=smtputf8):
                server = self.server(smtputf8=smtputf8, size=smtputf8)
                shop = self.shop_for(server)
                (shop.dir / "idn.csv").write_text(
                    "customer_id,email,phone,first_name,last_name,email_consent,sms_consent\n"
                    "i1,kunde@müller.example,,Ina,,yes,no\ni2,zoë@x.example,,Zoë,,yes,no\n", encoding="utf-8")
                (shop.dir / "idn_orders.csv").write_text(
                    "order_id,customer_id,ordered_at,amount\nn1,i1,2026-01-05T10:00:00Z,10\nn2,i2,2026-01-05T10:00:00Z,10\n")
                shop.cvmd("import", "customers", str(shop.dir / "idn.csv"))
                shop.cvmd("import", "orders", str(shop.dir / "idn_orders.csv"))
                shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
                outcome = self.outcome(shop)
                commands = [c for _, c in server.commands]
                self.assertEqual(outcome["i1"][:2], ("sent", 1))
                self.assertIn("RCPT TO:<kunde@xn--mller-kva.example>", commands)
                if smtputf8:
                    self.assertEqual(outcome["i2"][:2], ("sent", 1))
                    self.assertIn("RCPT TO:<zoë@x.example>", commands)
                    # With SIZE offered, the message's size goes with MAIL (RFC 1870).
                    self.assertTrue(any(re.fullmatch(r"MAIL FROM:<news@shop\.example> SIZE=\d{3,} SMTPUTF8", c)
                                        for c in commands), commands)
                else:
                    self.assertEqual(outcome["i2"][0], "failed")
                    self.assertIn("SMTPUTF8", outcome["i2"][2])
                    self.assertNotIn("RCPT TO:<zoë@x.example>", commands)
                    self.assertNotIn("SIZE=", " ".join(commands))


class TlsAndAuth(unittest.TestCase):
    """STARTTLS (required) and smtps with AUTH against aiosmtpd; one connection for many
    messages; wrong credentials keep the messages waiting and never print the password."""

    def setUp(self):
        self.work = __import__("tempfile").TemporaryDirectory()
        self.addCleanup(self.work.cleanup)

    def shop_for(self, server, scheme, tls, password="smtp-secret"):
        extra = (f"    tls: {tls}\n    ca_file: \"{server.cert}\"\n    username: mailer\n"
                 "    password: \"${SMTP_PASSWORD}\"\n")
        shop = Shop(CVMD, smtp_connector(server.port, extra).replace("smtp://", scheme + "://"),
                    env={"SMTP_PASSWORD": password})
        self.addCleanup(shop.close)
        return shop

    def test_starttls_with_auth_carries_every_message_over_one_connection(self):
        server = servers.TlsSmtp(self.work.name, "starttls")
        self.addCleanup(server.close)
        shop = self.shop_for(server, "smtp", "starttls")
        shop.add_buyers(range(10, 18))
        r = shop.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        self.assertIn("10 sent", r.stdout)
        messages = server.events("message")
        self.assertEqual(len(messages), 10)
        self.assertTrue(all(m["tls"] and m["authenticated"] for m in messages))
        self.assertEqual(len({tuple(m["peer"]) for m in messages}), 1)  # connection reuse
        self.assertEqual(len([a for a in server.events("auth") if a["ok"]]), 1)
        ids = shop.db("SELECT provider_id FROM outbox WHERE state = 'sent'")
        self.assertTrue(all(i.startswith("Q") for (i,) in ids), ids)

    def test_implicit_tls_and_wrong_credentials(self):
        server = servers.TlsSmtp(self.work.name, "smtps")
        self.addCleanup(server.close)
        shop = self.shop_for(server, "smtps", "auto")
        shop.cvmd("send", "welcome", "--customer", "c2")
        self.assertEqual(len(server.events("message")), 1)
        wrong = self.shop_for(server, "smtps", "auto", password="not-the-password")
        r = wrong.cvmd("send", "welcome", "--customer", "c2", expect=1)
        self.assertIn("535", r.stderr)
        said = r.stdout + r.stderr
        r = wrong.cvmd("run", "--once", "--now", "2026-02-01T00:00:00Z")
        said += r.stdout + r.stderr + wrong.cvmd("outbox", "--format", "json").stdout
        said += " ".join(d for (d,) in wrong.db("SELECT detail FROM outbox"))
        # Neither the password nor the AUTH PLAIN exchange that carries it, in any form.
        for secret in ("not-the-password", base64.b64encode(b"\0mailer\0not-the-password").decode(),
                       base64.b64encode(b"not-the-password").decode()):
            self.assertNotIn(secret, said)
        self.assertEqual({s for (s,) in wrong.db("SELECT state FROM outbox WHERE scenario != '' AND customer_id != 'c3'")}, {"pending"})

    def test_required_starttls_is_not_given_up_for_a_server_without_it(self):
        sink = servers.SmtpSink()
        self.addCleanup(sink.close)
        server = servers.TlsSmtp(self.work.name, "starttls")  # for its certificate
        self.addCleanup(server.close)
        shop = Shop(CVMD, smtp_connector(sink.port, f"    tls: starttls\n    ca_file: \"{server.cert}\"\n"))
        self.addCleanup(shop.close)
        r = shop.cvmd("send", "welcome", "--customer", "c1", expect=1)
        self.assertIn("SSL", r.stderr.upper())


class Configuration(unittest.TestCase):
    def test_secrets_come_from_the_environment_and_mistakes_say_where(self):
        shop = Shop(CVMD, "  sms:\n    type: file\n")
        self.addCleanup(shop.close)
        config = shop.dir / "cvmd.yaml"
        base = config.read_text()
        config.write_text(base + "  email:\n    type: smtp\n    url: \"smtp://u:p@127.0.0.1:25\"\n    from: a@b.example\n")
        r = shop.cvmd("outbox", expect=2)
        self.assertRegex(r.stderr, r"cvmd\.yaml:\d+:\d+: error: connectors\.email\.url: put credentials in username")
        config.write_text(base + "  email:\n    type: smtp\n    url: \"smtp://127.0.0.1:25\"\n    from: a@b.example\n"
                          "    password: \"${CVMD_TEST_UNSET_PASSWORD}\"\n")
        r = shop.cvmd("outbox", expect=2)
        self.assertIn("the environment variable 'CVMD_TEST_UNSET_PASSWORD' is not set", r.stderr)
        config.write_text(base.replace("${CVMD_LINK_SECRET}", "short"))
        r = shop.cvmd("outbox", expect=2)
        self.assertIn("server.link_secret must be at least 16 characters", r.stderr)
        self.assertNotIn(SECRET, r.stderr)


if __name__ == "__main__":
    unittest.main()
