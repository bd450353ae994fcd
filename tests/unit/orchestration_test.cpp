// Policies and experiments: durations, quiet hours across time zones and daylight saving,
// frequency windows, and the stable assignment buckets.
#include "engine/experiments.hpp"
#include "engine/policies.hpp"
#include "engine/values.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace cvmd;

TEST_SUITE("policies")
{
  TEST_CASE("durations and quiet hours parse, and bad ones say what is expected")
  {
    CHECK(*parse_duration("7 days") == 7 * 86400);
    CHECK(*parse_duration("1 week") == 604800);
    CHECK(*parse_duration("90 minutes") == 5400);
    CHECK_FALSE(parse_duration("7"));
    CHECK_FALSE(parse_duration("0 days"));
    CHECK_FALSE(parse_duration("3 fortnights"));
    CHECK(parse_duration("x").error().find("like '7 days'") != std::string::npos);
    const auto quiet = parse_quiet_hours("21:00-09:30");
    REQUIRE(quiet);
    CHECK(quiet->from_minute == 21 * 60);
    CHECK(quiet->to_minute == 9 * 60 + 30);
    CHECK(format_quiet_hours(*quiet) == "21:00-09:30");
    CHECK_FALSE(parse_quiet_hours("21-09"));
    CHECK_FALSE(parse_quiet_hours("25:00-09:00"));
    CHECK_FALSE(parse_quiet_hours("09:00-09:00"));
  }

  TEST_CASE("quiet hours defer to the next allowed minute in the customer's zone")
  {
    const QuietHours night{21 * 60, 8 * 60};
    const auto t = [](const char* s) { return *parse_time(s); };
    // Not quiet: unchanged.
    CHECK(next_allowed(t("2026-03-12T12:00:00Z"), night, "UTC") == t("2026-03-12T12:00:00Z"));
    // 23:30 UTC is 00:30 in Berlin (UTC+1 in March before the change): until 08:00 local.
    CHECK(next_allowed(t("2026-03-12T23:30:00Z"), night, "Europe/Berlin") == t("2026-03-13T07:00:00Z"));
    // The same instant is 19:30 in New York (daylight time since 8 March): allowed.
    CHECK(next_allowed(t("2026-03-12T23:30:00Z"), night, "America/New_York") == t("2026-03-12T23:30:00Z"));
    // Across Berlin's change to summer time (29 March 2026): 08:00 local is 06:00 UTC.
    CHECK(next_allowed(t("2026-03-28T22:00:00Z"), night, "Europe/Berlin") == t("2026-03-29T06:00:00Z"));
    // A window within one day, and an unknown zone counts as UTC.
    const QuietHours morning{6 * 60, 10 * 60};
    CHECK(next_allowed(t("2026-03-12T07:00:00Z"), morning, "Nowhere/Atlantis") == t("2026-03-12T10:00:00Z"));
    CHECK(known_time_zone("Europe/Berlin"));
    CHECK_FALSE(known_time_zone("Nowhere/Atlantis"));
  }

  TEST_CASE("a frequency window counts the sends in (t - per, t]")
  {
    const std::vector<std::int64_t> sent = {100, 200, 300};
    CHECK(count_in_window(sent, 300, 150) == 2); // 200 and 300; 150 is outside
    CHECK(count_in_window(sent, 300, 200) == 2); // 100 is exactly at t - per: outside
    CHECK(count_in_window(sent, 300, 201) == 3);
    CHECK(count_in_window(sent, 99, 1000) == 0);
  }
}

TEST_SUITE("experiments")
{
  TEST_CASE("buckets are stable, depend on every part of the key, and are uniform")
  {
    const double b = assignment_bucket("c1", "lapse", "test");
    CHECK(b == assignment_bucket("c1", "lapse", "test"));
    CHECK(b >= 0);
    CHECK(b < 100);
    CHECK(b != assignment_bucket("c2", "lapse", "test"));
    CHECK(b != assignment_bucket("c1", "other", "test"));
    CHECK(b != assignment_bucket("c1", "lapse", "holdout"));
    // The separator keeps ("c1", "2x") and ("c12", "x") apart.
    CHECK(assignment_bucket("c1", "2x", "t") != assignment_bucket("c12", "x", "t"));
    // 100,000 customers in ten deciles: each within 3% of 10,000.
    int deciles[10] = {};
    for (int i = 0; i < 100000; ++i) {
      ++deciles[static_cast<int>(assignment_bucket("customer" + std::to_string(i), "s", "split") / 10)];
    }
    for (int d : deciles) {
      CHECK(std::abs(d - 10000) < 300);
    }
  }

  TEST_CASE("a bucket picks the variant whose cumulative range holds it")
  {
    dsl::Step split;
    split.kind = dsl::Step::Kind::split;
    split.variants = {{"a", 45, dsl::SendAction{"email", "x"}}, {"b", 45, dsl::SendAction{"email", "y"}}, {"control", 10, {}}};
    CHECK(choose_variant(split, 0).name == "a");
    CHECK(choose_variant(split, 44.99).name == "a");
    CHECK(choose_variant(split, 45).name == "b");
    CHECK(choose_variant(split, 89.99).name == "b");
    CHECK(choose_variant(split, 90).name == "control");
    CHECK(choose_variant(split, 99.999).name == "control");
  }
}
