#include "test_helpers.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

using namespace cvmd;

namespace {

// A customer as the engine will present one: named attribute values and past events.
class Customer : public dsl::Facts
{
public:
  Customer(const dsl::Program& program) : m_program(program) {}

  Customer& set(const std::string& name, double value)
  {
    m_numbers[id(name)] = value;
    return *this;
  }
  Customer& set(const std::string& name, const std::string& value)
  {
    m_texts[id(name)] = value;
    return *this;
  }
  Customer& flag(const std::string& name)
  {
    m_flags.insert(id(name));
    return *this;
  }
  Customer& happened(dsl::EventKind kind, const std::string& name, std::int64_t seconds_ago)
  {
    m_events.push_back({kind, name, seconds_ago});
    return *this;
  }

  double number(dsl::AttrId a) const override
  {
    auto it = m_numbers.find(a);
    if (it != m_numbers.end()) {
      return it->second;
    }
    auto text = m_texts.find(a);
    return text != m_texts.end() ? std::atof(text->second.c_str()) : std::nan("");
  }
  std::string_view text(dsl::AttrId a) const override
  {
    auto it = m_texts.find(a);
    return it == m_texts.end() ? std::string_view() : std::string_view(it->second);
  }
  bool flag(dsl::AttrId a) const override { return m_flags.count(a) > 0; }
  bool event(const dsl::EventQuery& q) const override
  {
    for (const auto& e : m_events) {
      if (e.kind == q.kind && (q.name.empty() || q.name == e.name) &&
          (q.within_seconds == 0 || e.seconds_ago <= q.within_seconds)) {
        return true;
      }
    }
    return false;
  }

private:
  dsl::AttrId id(const std::string& name) const
  {
    if (auto index = dsl::find_attribute(name)) {
      return static_cast<dsl::AttrId>(*index);
    }
    const auto& fields = m_program.profile_fields;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if ("profile." + fields[i] == name) {
        return static_cast<dsl::AttrId>(dsl::attributes().size() + i);
      }
    }
    throw std::runtime_error("no attribute " + name);
  }

  struct Event
  {
    dsl::EventKind kind;
    std::string name;
    std::int64_t seconds_ago;
  };
  const dsl::Program& m_program;
  std::map<dsl::AttrId, double> m_numbers;
  std::map<dsl::AttrId, std::string> m_texts;
  std::set<dsl::AttrId> m_flags;
  std::vector<Event> m_events;
};

dsl::Program
compile(const std::string& text)
{
  auto result = test::check_text(text);
  INFO(dsl::format_json(result.diagnostics.all()));
  REQUIRE(result.program);
  return *result.program;
}

const dsl::Condition&
segment(const dsl::Program& p, const std::string& name)
{
  for (std::size_t i = 0; i < p.segment_names.size(); ++i) {
    if (p.segment_names[i] == name) {
      return p.segments[i];
    }
  }
  throw std::runtime_error("no segment " + name);
}

} // namespace

TEST_SUITE("compiler")
{
  TEST_CASE("the card condition is true exactly for lapsing customers with a high AOV")
  {
    const auto p = compile("segment target = lapsing and AOV > 50\nrule r: if target then send reminder\n");
    const auto& c = segment(p, "target");
    CHECK(dsl::evaluate(c, p, Customer(p).set("lifecycle", "lapsing").set("aov", 60.0)));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).set("lifecycle", "lapsing").set("aov", 50.0)));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).set("lifecycle", "active").set("aov", 99.0)));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).set("lifecycle", "lapsing"))); // no AOV known
  }

  TEST_CASE("between, in, not in and or evaluate like their words")
  {
    const auto p = compile("segment s = days_since_last_order between 45 and 90 and country in (\"DE\", \"AT\")"
                           " or lifecycle not in (\"new\", \"active\", \"lapsing\", \"inactive\")\n"
                           "rule r: if s then send reminder\n");
    const auto& c = segment(p, "s");
    CHECK(dsl::evaluate(c, p, Customer(p).set("days_since_last_order", 45.0).set("country", "AT").set("lifecycle", "new")));
    CHECK(dsl::evaluate(c, p, Customer(p).set("days_since_last_order", 90.0).set("country", "DE").set("lifecycle", "new")));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).set("days_since_last_order", 91.0).set("country", "DE").set("lifecycle", "new")));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).set("days_since_last_order", 50.0).set("country", "FR").set("lifecycle", "new")));
    CHECK(dsl::evaluate(c, p, Customer(p).set("lifecycle", "prospect")));
  }

  TEST_CASE("a constant on the left is mirrored")
  {
    const auto p = compile("segment s = 50 < aov\nrule r: if s then send reminder\n");
    CHECK(dsl::evaluate(segment(p, "s"), p, Customer(p).set("aov", 51.0)));
    CHECK_FALSE(dsl::evaluate(segment(p, "s"), p, Customer(p).set("aov", 49.0)));
  }

  TEST_CASE("segments are inlined and negation works through them")
  {
    const auto p = compile("segment big = aov > 80 or m_score = 5\nsegment small = not big and vip = false\n"
                           "rule r: if small then send reminder\n");
    const auto& c = segment(p, "small");
    CHECK(dsl::evaluate(c, p, Customer(p).set("aov", 10.0).set("m_score", 2.0)));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).set("aov", 10.0).set("m_score", 5.0)));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).set("aov", 10.0).set("m_score", 2.0).flag("vip")));
  }

  TEST_CASE("profile fields compare as text or number and are true when filled in")
  {
    const auto p = compile("segment de = profile.country = \"DE\"\nsegment kids = profile.children >= 2\n"
                           "segment known = profile.city\nrule r: if de and kids and known then send reminder\n");
    Customer c(p);
    c.set("profile.country", "DE").set("profile.children", "3");
    CHECK(dsl::evaluate(segment(p, "de"), p, c));
    CHECK(dsl::evaluate(segment(p, "kids"), p, c));
    CHECK_FALSE(dsl::evaluate(segment(p, "known"), p, c));
    c.set("profile.city", "Berlin");
    CHECK(dsl::evaluate(segment(p, "known"), p, c));
  }

  TEST_CASE("event predicates ask for kind, name and window")
  {
    const auto p = compile("segment engaged = opened welcome within 7 days and not clicked\n"
                           "rule r: if engaged then send reminder\n");
    const auto& c = segment(p, "engaged");
    CHECK(dsl::evaluate(c, p, Customer(p).happened(dsl::EventKind::opened, "welcome", 86400)));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).happened(dsl::EventKind::opened, "welcome", 8 * 86400)));
    CHECK_FALSE(dsl::evaluate(c, p, Customer(p).happened(dsl::EventKind::opened, "tips", 86400)));
    CHECK_FALSE(dsl::evaluate(
      c, p, Customer(p).happened(dsl::EventKind::opened, "welcome", 60).happened(dsl::EventKind::clicked, "tips", 60)));
  }

  TEST_CASE("steps get their delays, waits and unless conditions")
  {
    const auto p = compile("scenario s {\n on first_order\n send email welcome\n"
                           " send tips after 3 days unless opened welcome\n wait 4 days\n"
                           " send tips if not ordered within 7 days\n}\n");
    const auto& steps = p.scenarios.at(0).steps;
    REQUIRE(steps.size() == 3);
    CHECK(steps[0].delay_seconds == 0);
    CHECK(steps[1].delay_seconds == 3 * 86400);
    CHECK(steps[2].delay_seconds == 4 * 86400);
    CHECK(dsl::evaluate(steps[1].condition, p, Customer(p)));
    CHECK_FALSE(dsl::evaluate(steps[1].condition, p, Customer(p).happened(dsl::EventKind::opened, "welcome", 10)));
  }

  TEST_CASE("settings and splits are compiled")
  {
    const auto p = compile("scenario w \"Win back\" {\n when inactive\n reenter after 180 days\n exit when ordered\n"
                           " goal ordered within 21 days\n holdout 10%\n cap 2 per 7 days\n quiet hours 21:00-09:00\n"
                           " active from 2026-01-01 to 2027-12-31\n priority 5\n"
                           " split subject_test { soft: 45% send winback_soft\n discount: 45% send email winback_discount\n"
                           " control: 10% }\n}\n");
    const auto& s = p.scenarios.at(0);
    CHECK(s.title == "Win back");
    CHECK_FALSE(s.once);
    CHECK(s.reenter_after_seconds == 180 * 86400);
    REQUIRE(s.goal);
    CHECK(s.goal->within_seconds == 21 * 86400);
    CHECK(s.holdout_percent == 10);
    CHECK(s.cap_count == 2);
    CHECK(s.quiet_from_minute == 21 * 60);
    CHECK(s.quiet_to_minute == 9 * 60);
    CHECK(s.active_from == "2026-01-01");
    CHECK(s.active_to == "2027-12-31");
    CHECK(s.priority == 5);
    REQUIRE(s.steps.size() == 1);
    const auto& split = s.steps[0];
    CHECK(split.kind == dsl::Step::Kind::split);
    CHECK(split.split_name == "subject_test");
    REQUIRE(split.variants.size() == 3);
    CHECK(split.variants[0].send->channel == "email");
    CHECK_FALSE(split.variants[2].send.has_value());
  }

  TEST_CASE("an optimized split compiles its metric and warm-up; the version follows them")
  {
    const auto text = [](const std::string& clause) {
      return "scenario s {\n when lapsing\n goal ordered within 7 days\n split t " + clause +
             " { a: 50% send winback_soft\n b: 50% }\n}\n";
    };
    const auto plain = compile(text(""));
    const auto clicks = compile(text("optimize for clicks"));
    const auto clicks100 = compile(text("OPTIMIZE FOR CLICKS WARMUP 100"));
    const auto conversions = compile(text("optimize for conversions warmup 200"));
    const auto& none = plain.scenarios.at(0).steps.at(0);
    CHECK(none.optimize == dsl::Step::Optimize::none);
    CHECK(none.warmup == 100);
    const auto& c = clicks.scenarios.at(0).steps.at(0);
    CHECK(c.optimize == dsl::Step::Optimize::clicks);
    CHECK(c.warmup == 100);
    REQUIRE(c.variants.size() == 2);
    CHECK_FALSE(c.variants[1].send.has_value()); // a control may take part
    const auto& v = conversions.scenarios.at(0).steps.at(0);
    CHECK(v.optimize == dsl::Step::Optimize::conversions);
    CHECK(v.warmup == 200);
    CHECK(plain.scenarios.at(0).version != clicks.scenarios.at(0).version);
    CHECK(clicks.scenarios.at(0).version == clicks100.scenarios.at(0).version); // the default, written out
    CHECK(clicks.scenarios.at(0).version != conversions.scenarios.at(0).version);
    CHECK(dsl::canonical_text(conversions.scenarios.at(0), conversions).find("optimize for conversions warmup 200") !=
          std::string::npos);
  }

  TEST_CASE("a split without optimize keeps the version it had before optimizing existed")
  {
    const auto p = compile("scenario s {\n when lapsing\n split t { a: 50% send winback_soft\n b: 50% }\n}\n");
    CHECK(p.scenarios.at(0).version == "0c5841261bc31f1b");
  }

  TEST_CASE("the version ignores layout and comments but follows content")
  {
    const auto a = compile("scenario s { when lapsing\n send reminder after 3 days }\n");
    const auto b = compile("# a comment\nSCENARIO s {\n  WHEN   lapsing   # why\n\n  send reminder AFTER 72 hours\n}\n");
    const auto c = compile("scenario s { when lapsing\n send reminder after 4 days }\n");
    CHECK(a.scenarios.at(0).version.size() == 16);
    CHECK(a.scenarios.at(0).version == b.scenarios.at(0).version);
    CHECK(a.scenarios.at(0).version != c.scenarios.at(0).version);
  }

  TEST_CASE("editing a segment changes the version of the scenarios that use it")
  {
    const auto a = compile("segment t = aov > 50\nscenario s { when t\n send reminder }\n");
    const auto b = compile("segment t = aov > 60\nscenario s { when t\n send reminder }\n");
    CHECK(a.scenarios.at(0).version != b.scenarios.at(0).version);
  }
}

TEST_SUITE("compiler")
{
  TEST_CASE("two text attributes compare as text and two conditions as truth values")
  {
    const auto p = compile("segment home = country = profile.home_country\nsegment big = aov > 50\n"
                           "segment same = vip = big\nsegment differ = lapsing != vip\n"
                           "rule r: if home and same and differ then send reminder\n");
    CHECK(dsl::evaluate(segment(p, "home"), p, Customer(p).set("country", "DE").set("profile.home_country", "DE")));
    CHECK_FALSE(dsl::evaluate(segment(p, "home"), p, Customer(p).set("country", "DE").set("profile.home_country", "AT")));
    CHECK(dsl::evaluate(segment(p, "same"), p, Customer(p).set("aov", 10.0)));              // neither
    CHECK(dsl::evaluate(segment(p, "same"), p, Customer(p).set("aov", 60.0).flag("vip"))); // both
    CHECK_FALSE(dsl::evaluate(segment(p, "same"), p, Customer(p).set("aov", 60.0)));
    CHECK(dsl::evaluate(segment(p, "differ"), p, Customer(p).set("lifecycle", "lapsing")));
    CHECK_FALSE(dsl::evaluate(segment(p, "differ"), p, Customer(p).set("lifecycle", "lapsing").flag("vip")));
  }
}
