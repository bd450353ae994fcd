#include "dsl/source.hpp"
#include "dsl/suggest.hpp"

#include <doctest/doctest.h>

using cvmd::dsl::SourceFile;

TEST_SUITE("source")
{
  TEST_CASE("columns count characters, not bytes")
  {
    SourceFile f("x.cvm", "segment s = first_name = \"Jürgen\" and x\n");
    // 'and' stands after a string holding one two-byte character.
    const auto offset = std::string(f.text()).find("and");
    CHECK(f.position_of(offset).column == 35);
    CHECK(f.position_of(offset).line == 1);
  }

  TEST_CASE("CRLF line ends are not part of the line text")
  {
    SourceFile f("x.cvm", "a\r\nbb\r\nccc");
    CHECK(f.line_text(1) == "a");
    CHECK(f.line_text(2) == "bb");
    CHECK(f.line_text(3) == "ccc");
    CHECK(f.position_of(4).line == 2);
    CHECK(f.position_of(4).column == 2);
  }

  TEST_CASE("invalid UTF-8 is found, valid UTF-8 is not")
  {
    CHECK(cvmd::dsl::find_invalid_utf8("plain ascii") == std::string::npos);
    CHECK(cvmd::dsl::find_invalid_utf8("grüße 👋") == std::string::npos);
    CHECK(cvmd::dsl::find_invalid_utf8("ab\xff") == 2);
    CHECK(cvmd::dsl::find_invalid_utf8("\xc0\xaf") == 0); // overlong
    CHECK(cvmd::dsl::find_invalid_utf8("\xed\xa0\x80") == 0); // surrogate
  }

  TEST_CASE("did you mean suggests close names only")
  {
    const std::vector<std::string> names = {"lapsing", "inactive", "reminder"};
    CHECK(cvmd::dsl::closest_match("lapsin", names) == std::optional<std::string>("lapsing"));
    CHECK(cvmd::dsl::closest_match("remidner", names) == std::optional<std::string>("reminder"));
    CHECK_FALSE(cvmd::dsl::closest_match("zzz", names).has_value());
  }
}
