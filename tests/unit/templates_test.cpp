#include "test_helpers.hpp"

#include <doctest/doctest.h>

using namespace cvmd;

TEST_SUITE("templates")
{
  TEST_CASE("mustache variables are found in every tag form")
  {
    const auto vars = dsl::mustache_variables("Hi {{ first_name }}, {{{html}}} {{&raw}} {{#vip}}x{{/vip}}"
                                              "{{^orders}}y{{/orders}} {{! note }} {{> partial}} {{.}}");
    std::vector<std::string> names;
    for (const auto& v : vars) {
      names.push_back(v.name);
    }
    CHECK(names == std::vector<std::string>{"first_name", "html", "raw", "vip", "orders"});
  }

  TEST_CASE("a good template loads with its channel and no diagnostics")
  {
    dsl::TemplateCatalog c;
    dsl::Diagnostics d;
    c.load("t/hello.yaml", "channel: email\nsubject: \"Hi {{first_name}}\"\ntext: |\n  {{unsubscribe_url}}\n", d);
    CHECK(d.all().empty());
    REQUIRE(c.find("hello"));
    CHECK(c.find("hello")->channel == "email");
  }

  TEST_CASE("broken YAML is reported at its line")
  {
    dsl::TemplateCatalog c;
    dsl::Diagnostics d;
    c.load("t/bad.yaml", "channel: email\nsubject: [unclosed\ntext: x\n", d);
    REQUIRE(d.all().size() == 1);
    CHECK(d.all()[0].message.rfind("not valid YAML", 0) == 0);
    CHECK(d.all()[0].line >= 2);
    CHECK(c.find("bad")); // listed, so sends are not also reported as unknown
  }
}
