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

  TEST_CASE("variables printed outside sections are the ones that must have a value")
  {
    CHECK(dsl::unguarded_variables("Hi {{first_name}}{{#last_name}} {{last_name}}{{/last_name}}{{^vip}}{{aov}}{{/vip}}"
                                   " {{{html}}} {{& raw }}") == std::vector<std::string>{"first_name", "html", "raw"});
  }

  TEST_CASE("an SMS longer than one message is a warning with its count, and names must be lower case")
  {
    dsl::TemplateCatalog c;
    dsl::Diagnostics d;
    c.load("t/short.yaml", "channel: sms\ntext: \"Hi {{first_name}}, -20% today\"\n", d);
    CHECK(d.all().empty());
    c.load("t/long.yaml", "channel: sms\ntext: \"" + std::string(150, 'a') + " {{first_name}}\"\n", d);
    REQUIRE(d.all().size() == 1);
    CHECK(d.all()[0].severity == dsl::Severity::warning);
    CHECK(d.all()[0].message.find("needs 2 messages") != std::string::npos);
    c.load("t/emoji.yaml", "channel: sms\ntext: \"" + std::string(60, 'a') + " \xF0\x9F\x8E\x89 {{first_name}}\"\n", d);
    REQUIRE(d.all().size() == 2);
    CHECK(d.all()[1].message.find("UCS-2") != std::string::npos);
    c.load("t/case.yaml", "channel: sms\ntext: \"Hi {{First_Name}}\"\n", d);
    REQUIRE(d.all().size() == 3);
    CHECK(d.all()[2].message == "write 'first_name' in lower case: template variables are matched exactly");
  }
}
