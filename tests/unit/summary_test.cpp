#include "engine/config.hpp"
#include "engine/summary.hpp"
#include "test_helpers.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

TEST_SUITE("engine")
{
  TEST_CASE("durations read like people write them")
  {
    CHECK(cvmd::dsl::format_duration(3 * 86400) == "3 days");
    CHECK(cvmd::dsl::format_duration(14 * 86400) == "2 weeks");
    CHECK(cvmd::dsl::format_duration(3600) == "1 hour");
    CHECK(cvmd::dsl::format_duration(90) == "90 seconds");
  }

  TEST_CASE("the summary tells entry, exit, goal and every step")
  {
    const auto result = cvmd::test::check_text(
      "scenario onboarding \"Welcome\" {\n on first_order\n once\n exit when orders >= 2\n"
      " goal ordered within 14 days\n send email welcome\n send tips after 3 days unless opened welcome\n}\n");
    REQUIRE(result.program);
    const auto text = cvmd::summarize(*result.program);
    CHECK(text.find("onboarding — Welcome") != std::string::npos);
    CHECK(text.find("enters on the event 'first_order'") != std::string::npos);
    CHECK(text.find("leaves as soon as orders >= 2") != std::string::npos);
    CHECK(text.find("converts on ordered within 2 weeks") != std::string::npos);
    CHECK(text.find("1. right away: send email 'welcome'") != std::string::npos);
    CHECK(text.find("2. after 3 days, if not opened welcome: send email 'tips'") != std::string::npos);
  }

  TEST_CASE("the summary tells how a split optimizes")
  {
    const auto result = cvmd::test::check_text(
      "scenario s {\n when lapsing\n goal ordered within 7 days\n"
      " split subject_test optimize for clicks { soft: 50% send winback_soft\n discount: 50% send winback_discount }\n"
      " split offer optimize for conversions warmup 200 { discount: 90% send winback_discount\n control: 10% }\n"
      " split plain { a: 50% send winback_soft\n b: 50% }\n}\n");
    REQUIRE(result.program);
    const auto text = cvmd::summarize(*result.program);
    CHECK(text.find("1. right away: split 'subject_test', optimized for clicks after a warm-up of 100 per variant: "
                    "soft 50% send email 'winback_soft'; discount 50% send email 'winback_discount'\n") !=
          std::string::npos);
    CHECK(text.find("2. right away: split 'offer', optimized for conversions after a warm-up of 200 per variant: "
                    "discount 90% send email 'winback_discount'; control 10% (no message)\n") != std::string::npos);
    CHECK(text.find("3. right away: split 'plain': a 50%") != std::string::npos);
  }

  TEST_CASE("a configuration with an unknown key is refused with its place")
  {
    const auto dir = std::filesystem::temp_directory_path() / "cvmd_config_test";
    std::filesystem::create_directories(dir);
    const auto file = (dir / "cvmd.yaml").string();
    std::ofstream(file) << "store: shop.db\nscenarois: here\n";
    const auto config = cvmd::load_config(file);
    REQUIRE_FALSE(config);
    CHECK(config.error() == file + ":2:1: error: unknown key 'scenarois'");

    std::ofstream(file) << "store: shop.db\ntemplates: tpl\n";
    const auto good = cvmd::load_config(file);
    REQUIRE(good);
    CHECK(good->store == (dir / "shop.db").string());
    CHECK(good->templates == (dir / "tpl").string());
    CHECK(good->templates_set);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("a missing explicit configuration is an error, a missing default is not")
  {
    CHECK_FALSE(cvmd::load_config("/nonexistent/cvmd.yaml"));
  }
}
