#include "test_helpers.hpp"

#include <doctest/doctest.h>

using cvmd::test::check_text;
using cvmd::test::diagnostic_lines;

TEST_SUITE("dsl")
{
  TEST_CASE("the card sentence is valid as a rule and as a step")
  {
    const auto result = check_text(
      "rule lapsing_reminder: if lapsing and AOV > 50 then send reminder after 3 days\n"
      "scenario chain {\n  when lapsing\n  if lapsing and AOV > 50 then send reminder after 3 days\n}\n");
    CHECK(diagnostic_lines(result.diagnostics).empty());
    REQUIRE(result.program);
    REQUIRE(result.program->scenarios.size() == 2);
    const auto& rule = result.program->scenarios[0];
    CHECK(rule.from_rule);
    CHECK(rule.steps.at(0).delay_seconds == 3 * 86400);
    CHECK(rule.steps.at(0).send.channel == "email");
    CHECK(rule.steps.at(0).send.template_name == "reminder");
  }

  TEST_CASE("keywords and names are case-insensitive")
  {
    const auto result = check_text("SEGMENT Big = AOV > 80 Or M_SCORE = 5\n"
                                   "Scenario S { WHEN big AND NOT Lapsing\n SEND EMAIL Reminder AFTER 2 Days }\n");
    CHECK(diagnostic_lines(result.diagnostics).empty());
    REQUIRE(result.program);
    CHECK(result.program->scenarios.at(0).id == "s");
  }

  TEST_CASE("tabs, CRLF and comments do not move columns")
  {
    const auto result = check_text("# comment\r\nscenario t {\r\n\twhen lapsin # typo\r\n\tsend reminder\r\n}\r\n");
    const auto lines = diagnostic_lines(result.diagnostics);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "input.cvm:3:7: error: unknown segment or attribute 'lapsin' (did you mean 'lapsing'?)");
  }

  TEST_CASE("after a syntax error the parser resumes at the next declaration")
  {
    const auto result = check_text("segment a = aov >\n"
                                   "segment b = orders > 1 and\n"
                                   "scenario s { when b\n send nothing_like_this }\n"
                                   "rule r: if a then send reminder\n");
    const auto lines = diagnostic_lines(result.diagnostics);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].rfind("input.cvm:1:18: error: expected a value", 0) == 0);
    CHECK(lines[1].rfind("input.cvm:2:27: error: expected a condition, found 'scenario'", 0) == 0);
    CHECK(lines[2].rfind("input.cvm:4:7: error: unknown template 'nothing_like_this'", 0) == 0);
    CHECK_FALSE(result.program);
  }

  TEST_CASE("UTF-8 strings keep their bytes and errors after them count characters")
  {
    const auto result = check_text("segment s = first_name = \"Zoë 🎉\" and aov > \"x\"\nrule r: if s then send reminder\n");
    const auto lines = diagnostic_lines(result.diagnostics);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "input.cvm:1:44: error: cannot compare aov (number) with the text \"x\"");
  }

  TEST_CASE("invalid UTF-8 is reported, not parsed")
  {
    const auto result = check_text("segment s = first_name = \"\xff\"\n");
    const auto lines = diagnostic_lines(result.diagnostics);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "input.cvm:1:27: error: invalid UTF-8: scenario files must be saved as UTF-8");
  }

  TEST_CASE("an empty file and a file of comments are fine")
  {
    CHECK(check_text("").program.has_value());
    CHECK(check_text("# nothing here\n\n   # still nothing").program.has_value());
  }

  TEST_CASE("nan and inf are names, not numbers")
  {
    const auto lines = diagnostic_lines(check_text("segment s = aov > nan\nrule r: if s then send reminder\n").diagnostics);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "input.cvm:1:19: error: unknown segment or attribute 'nan'");
  }

  TEST_CASE("a trailing if belongs to the step unless a then follows")
  {
    const auto result = check_text("scenario s {\n  when active\n  send reminder\n  if vip then send tips after 1 day\n"
                                   "  send tips after 2 days if vip\n}\n");
    CHECK(diagnostic_lines(result.diagnostics).empty());
    REQUIRE(result.program);
    const auto& steps = result.program->scenarios.at(0).steps;
    REQUIRE(steps.size() == 3);
    CHECK(steps[0].condition.always());
    CHECK_FALSE(steps[1].condition.always());
    CHECK_FALSE(steps[2].condition.always());
  }
}
