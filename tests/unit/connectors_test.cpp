#include "connectors/dispatcher.hpp"
#include "connectors/kannel_connector.hpp"
#include "connectors/mime.hpp"
#include "connectors/smtp_wire.hpp"
#include "dsl/sms_text.hpp"
#include "engine/links.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

using namespace cvmd;
using namespace std::chrono_literals;

namespace {

std::vector<std::string>
lines_of(const std::string& text)
{
  std::vector<std::string> out;
  std::size_t start = 0;
  for (auto at = text.find("\r\n"); at != std::string::npos; at = text.find("\r\n", start)) {
    out.push_back(text.substr(start, at - start));
    start = at + 2;
  }
  out.push_back(text.substr(start));
  return out;
}

// RFC 2045 6.7 decoding, strict: anything but "=XX" and soft breaks after "=" fails.
std::optional<std::string>
decode_quoted_printable(const std::string& encoded)
{
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '=') {
      out += encoded[i];
      continue;
    }
    if (encoded.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;
      continue;
    }
    if (i + 2 >= encoded.size() || !std::isxdigit(static_cast<unsigned char>(encoded[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(encoded[i + 2]))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
    i += 2;
  }
  return out;
}

} // namespace

TEST_SUITE("connectors")
{
  TEST_CASE("quoted-printable keeps lines under 77 characters and encodes what it must")
  {
    const std::string text(200, 'a');
    for (const auto& line : lines_of(quoted_printable(text + "\nZoë = 1 \nFrom here"))) {
      CHECK(line.size() <= 76);
    }
    CHECK(quoted_printable("Zoë") == "Zo=C3=AB");
    CHECK(quoted_printable("a = b") == "a =3D b");
    CHECK(quoted_printable("trailing \nx") == "trailing=20\r\nx");
    CHECK(quoted_printable("From me") == "=46rom me");
    // A soft break can start a line too.
    CHECK(quoted_printable(std::string(75, 'a') + "From me") == std::string(75, 'a') + "=\r\n=46rom me");
  }

  TEST_CASE("DATA doubles a dot that starts a line and ends with a dot on its own line")
  {
    CHECK(smtp_data("a\r\n.b\r\n") == "a\r\n..b\r\n.\r\n");
    CHECK(smtp_data(".start\r\n..two\r\n") == "..start\r\n...two\r\n.\r\n");
    CHECK(smtp_data("no line end") == "no line end\r\n.\r\n");
    CHECK(smtp_data("a.b\r\n") == "a.b\r\n.\r\n");
    CHECK(smtp_data("") == ".\r\n");
  }

  TEST_CASE("an international domain goes as A-labels and a domain IDNA refuses is no address")
  {
    CHECK(smtp_address("kunde@shop.example") == "kunde@shop.example");
    CHECK(smtp_address("kunde@m\xc3\xbcller.example") == "kunde@xn--mller-kva.example");
    CHECK(smtp_address("zo\xc3\xab@x.example") == "zo\xc3\xab@x.example"); // the local part stays: SMTPUTF8's
    CHECK_FALSE(smtp_address("kunde@m\xffller.example"));                 // not UTF-8
    CHECK_FALSE(smtp_address("kunde@\xe2\x98\x83\xe2\x98\x83--x.example"));   // IDNA2008 refuses symbols
    CHECK_FALSE(smtp_address("no-at-sign"));
  }

  TEST_CASE("quoted-printable decodes back to the text, whatever the text")
  {
    const std::string alphabet[] = {"a", "Z", " ", "\t", "=", ".", "\n", "\r", "\r\n", "From ", "\xc3\xab", "\x01", "~"};
    std::uint32_t seed = 12345;
    const auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
    for (int round = 0; round < 2000; ++round) {
      std::string text;
      const auto length = next() % 300;
      for (std::uint32_t k = 0; k < length; ++k) {
        text += alphabet[(next() >> 8) % std::size(alphabet)];
      }
      std::string expected; // line ends become CRLF; a lone CR is data
      for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n') {
          expected += "\r\n";
        } else if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
          expected += "\r\n";
          ++i;
        } else {
          expected += text[i];
        }
      }
      const auto encoded = quoted_printable(text);
      CAPTURE(text);
      CHECK(decode_quoted_printable(encoded) == expected);
      for (const auto& line : lines_of(encoded)) {
        CHECK(line.size() <= 76);
        CHECK(line.rfind("From ", 0) != 0);
        CHECK((line.empty() || (line.back() != ' ' && line.back() != '\t')));
        CHECK(line.find('\r') == std::string::npos);
        CHECK(std::all_of(line.begin(), line.end(), [](unsigned char c) { return c == '\t' || (c >= 32 && c < 127); }));
      }
    }
  }

  TEST_CASE("a long non-ASCII header becomes encoded words that never split a character")
  {
    std::string subject;
    for (int i = 0; i < 40; ++i) {
      subject += "Zoë–";
    }
    const auto encoded = encode_header_text(subject);
    std::string decoded;
    for (const auto& line : lines_of(encoded)) {
      CHECK(line.size() <= 76);
      const auto start = line.find("=?UTF-8?B?");
      REQUIRE(start != std::string::npos);
      const auto body = line.substr(start + 10, line.size() - start - 12);
      // Each word holds whole characters: decoding one alone gives valid UTF-8.
      std::string raw(body.size(), '\0');
      const auto n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                        reinterpret_cast<const unsigned char*>(body.data()), static_cast<int>(body.size()));
      REQUIRE(n > 0);
      raw.resize(static_cast<std::size_t>(n) - std::count(body.begin(), body.end(), '='));
      CHECK((static_cast<unsigned char>(raw.front()) & 0xC0) != 0x80);
      decoded += raw;
    }
    CHECK(decoded == subject);
    CHECK(encode_header_text("plain ASCII") == "plain ASCII");
    CHECK(encode_header_text("two\r\nlines") == "two  lines"); // no header injection
  }

  TEST_CASE("addresses that could break a header or an SMTP command are refused")
  {
    CHECK(valid_address("ann@x.example"));
    for (const char* bad : {"", "ann", "@x", "ann@", "a b@x.example", "a@b@c", "ann@x.example\r\nRSET",
                            "ann@x.example>", "<ann@x.example", "ann@x.example\n"}) {
      CHECK_MESSAGE(!valid_address(bad), bad);
    }
    CHECK(parse_mailbox("Shop Team <news@shop.example>").name == "Shop Team");
    CHECK(parse_mailbox("news@shop.example").address == "news@shop.example");
    CHECK(parse_mailbox("Shop <not an address>").address.empty());
    CHECK(format_mailbox({"Müller, Ann", "a@x.example"}).find("=?UTF-8?B?") == 0);
    CHECK(format_mailbox({"Ann \"A\" B.", "a@x.example"}) == "\"Ann \\\"A\\\" B.\" <a@x.example>");
  }

  TEST_CASE("an email is multipart only with both parts and always names its key")
  {
    RenderedMessage m{"k:1", "email", "ann@x.example", "Ann", "Hi", "text", "", "", ""};
    const auto plain = build_email(m, {"Shop", "news@shop.example"}, 0);
    CHECK(plain.find("Content-Type: text/plain; charset=UTF-8") != std::string::npos);
    CHECK(plain.find("multipart") == std::string::npos);
    CHECK(plain.find("List-Unsubscribe") == std::string::npos);
    CHECK(plain.find("Date: Thu, 01 Jan 1970 00:00:00 +0000") != std::string::npos);
    m.html = "<p>html</p>";
    m.unsubscribe_url = "https://shop.example/u/x";
    const auto both = build_email(m, {"Shop", "news@shop.example"}, 0);
    CHECK(both.find("multipart/alternative; boundary=\"=_cvmd_") != std::string::npos);
    CHECK(both.find("List-Unsubscribe: <https://shop.example/u/x>\r\n") != std::string::npos);
    CHECK(both.find("X-Cvmd-Key: k:1\r\n") != std::string::npos);
    CHECK(message_id_for("k:1", "shop.example") == message_id_for("k:1", "shop.example"));
    CHECK(message_id_for("k:1", "shop.example") != message_id_for("k:2", "shop.example"));
  }

  TEST_CASE("SMS size follows GSM-7 and UCS-2 rules")
  {
    CHECK(sms_size(std::string(160, 'a')).segments == 1);
    CHECK(sms_size(std::string(161, 'a')).segments == 2);
    CHECK(sms_size(std::string(306, 'a')).segments == 2);
    CHECK(sms_size(std::string(307, 'a')).segments == 3);
    CHECK(sms_size("Prix: 5€ {ok}").units == 16); // € { } count two septets each
    CHECK(sms_size("Café für Sie").gsm7);         // é and ü are in GSM-7
    CHECK_FALSE(sms_size("Zoë").gsm7);            // ë is not
    const auto emoji = sms_size("Sale 🎉");
    CHECK_FALSE(emoji.gsm7);
    CHECK(emoji.units == 7); // the emoji is two UTF-16 units
    CHECK(sms_size(std::string(70, 'x') + "ж").segments == 2);
  }

  TEST_CASE("phone numbers are digits with an optional plus")
  {
    CHECK(valid_phone("+4915112345678"));
    CHECK(valid_phone("015112345678"));
    CHECK_FALSE(valid_phone("+49 151"));
    CHECK_FALSE(valid_phone("12345"));
    CHECK_FALSE(valid_phone("not-a-number"));
  }

  TEST_CASE("a signed link verifies, and any change to it is refused")
  {
    LinkSigner signer("https://shop.example/cvmd", "0123456789abcdef-secret");
    const auto url = signer.click("k:1", "c1", "https://shop.example/p?a=1&b=2");
    REQUIRE(url.rfind("https://shop.example/cvmd/c/", 0) == 0);
    const auto token = url.substr(std::string("https://shop.example/cvmd/c/").size());
    auto claim = signer.verify(token);
    REQUIRE(claim);
    CHECK(claim->kind == 'c');
    CHECK(claim->key == "k:1");
    CHECK(claim->customer == "c1");
    CHECK(claim->url == "https://shop.example/p?a=1&b=2");
    for (std::size_t i = 0; i < token.size(); i += 7) {
      auto tampered = token;
      tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
      CHECK_MESSAGE(!signer.verify(tampered), tampered);
    }
    CHECK(!LinkSigner("https://shop.example/cvmd", "another-secret-0123").verify(token));
    CHECK(!signer.verify("nodot"));
    CHECK(!signer.verify("a.b.c"));
  }

  TEST_CASE("tracking rewrites web links only and adds one open pixel")
  {
    LinkSigner signer("https://shop.example/cvmd", "0123456789abcdef-secret");
    const auto html = track_html("<html><body><a href=\"https://a.example/x?y=1&amp;z=2\">a</a>"
                                 "<A HREF='mailto:x@y.example'>m</A><a href=\"https://shop.example/cvmd/u/t\">u</a>"
                                 "</body></html>",
                                 signer, "k", "c");
    CHECK(html.find("a.example") == std::string::npos);
    CHECK(html.find("mailto:x@y.example") != std::string::npos);
    CHECK(html.find("https://shop.example/cvmd/u/t") != std::string::npos);
    const auto click = html.find("https://shop.example/cvmd/c/");
    REQUIRE(click != std::string::npos);
    const auto end = html.find('"', click);
    const auto claim = signer.verify(html.substr(click + 28, end - click - 28));
    REQUIRE(claim);
    CHECK(claim->url == "https://a.example/x?y=1&z=2"); // entities undone: the real target
    CHECK(html.find("/cvmd/o/") < html.find("</body>"));
  }

  TEST_CASE("the token bucket spaces messages at the configured rate")
  {
    const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    TokenBucket bucket(10, 1, t0);
    CHECK(bucket.take(t0).count() == 0);
    CHECK(bucket.take(t0) == 100ms);
    CHECK(bucket.take(t0) == 200ms);
    CHECK(bucket.take(t0 + 1s).count() == 0); // refilled, at most the burst
    TokenBucket unlimited(0, 1, t0);
    CHECK(unlimited.take(t0).count() == 0);
  }

  TEST_CASE("the breaker opens after failures in a row, tries one message after the pause, and closes on success")
  {
    BreakerSettings settings{3, 30s, 100s};
    CircuitBreaker breaker(settings);
    const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    breaker.record(DeliveryStatus::retry, t0);
    breaker.record(DeliveryStatus::failed, t0); // a bad address says nothing about the gateway
    breaker.record(DeliveryStatus::retry, t0);
    breaker.record(DeliveryStatus::retry, t0);
    CHECK(breaker.allow(t0));
    breaker.record(DeliveryStatus::retry, t0);
    CHECK(breaker.open());
    CHECK_FALSE(breaker.allow(t0 + 29s));
    CHECK(breaker.allow(t0 + 30s));       // half-open: one goes
    CHECK_FALSE(breaker.allow(t0 + 30s)); // and only one
    breaker.record(DeliveryStatus::retry, t0 + 31s);
    CHECK_FALSE(breaker.allow(t0 + 31s + 59s)); // the pause doubled
    CHECK(breaker.allow(t0 + 31s + 60s));
    breaker.record(DeliveryStatus::delivered, t0 + 92s);
    CHECK_FALSE(breaker.open());
    CHECK(breaker.allow(t0 + 92s));
  }

  TEST_CASE("failures of messages in flight when the breaker opened do not lengthen its pause")
  {
    CircuitBreaker breaker(BreakerSettings{2, 30s, 600s});
    const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    for (int i = 0; i < 6; ++i) { // four connections' worth of answers arriving after it opened
      breaker.record(DeliveryStatus::retry, t0);
    }
    CHECK(breaker.open());
    CHECK(breaker.allow(t0 + 30s)); // still the first pause
  }

  TEST_CASE("the dispatcher delivers every item once over several connections and holds them when paused")
  {
    struct Counting : Connector
    {
      std::atomic<int>* calls;
      std::set<std::thread::id>* threads;
      std::mutex* mutex;
      bool fail;
      Delivery deliver(const RenderedMessage& m) override
      {
        if (m.to.empty()) {
          return Delivery::refused("no address"); // decided here: says nothing of the gateway
        }
        ++*calls;
        {
          std::lock_guard lock(*mutex);
          threads->insert(std::this_thread::get_id());
        }
        std::this_thread::sleep_for(2ms);
        return fail ? Delivery::retry("down") : Delivery::delivered("id-" + m.key);
      }
    };
    std::atomic<int> calls{0};
    std::set<std::thread::id> threads;
    std::mutex mutex;
    ConnectorConfig config;
    config.name = "test";
    config.concurrency = 3;
    const auto factory = [&](bool fail) {
      return [&calls, &threads, &mutex, fail](const ConnectorConfig&) {
        auto c = std::make_unique<Counting>();
        c->calls = &calls;
        c->threads = &threads;
        c->mutex = &mutex;
        c->fail = fail;
        return c;
      };
    };
    Dispatcher dispatcher(config, factory(false), BreakerSettings{2, 60s, 60s});
    std::vector<DispatchItem> items;
    for (std::size_t i = 0; i < 30; ++i) {
      items.push_back({i, RenderedMessage{std::to_string(i), "email", "a@b.example", "", "", "", "", "", ""}});
    }
    std::set<std::size_t> seen;
    dispatcher.run(items, [&](const DispatchResult& r) {
      CHECK(seen.insert(r.id).second);
      CHECK(r.delivery.provider_id == "id-" + std::to_string(r.id));
    });
    CHECK(seen.size() == 30);
    CHECK(calls == 30);
    CHECK(threads.size() == 3);

    Dispatcher failing(config, factory(true), BreakerSettings{2, 60s, 60s});
    calls = 0;
    std::size_t held = 0;
    // Customers without an address between the failures must not keep the breaker closed.
    for (std::size_t i = 0; i < items.size(); i += 2) {
      items[i].message.to.clear();
    }
    std::size_t attempted = 0;
    failing.run(items, [&](const DispatchResult& r) { (r.attempted ? attempted : held) += 1; });
    // Two gateway failures in a row open it (refusals of empty addresses between them do not
    // close it); the threads in flight finish theirs, the rest is held.
    CHECK(held + attempted == 30);
    CHECK(attempted <= 10);
    CHECK(held >= 20);
    CHECK(failing.paused());
  }
}
