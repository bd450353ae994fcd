#include "engine/svg_charts.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <regex>
#include <sstream>

namespace {

using boost::property_tree::ptree;
using namespace cvmd::charts;

ptree
parse(const std::string& svg)
{
  std::istringstream in(svg);
  ptree tree;
  boost::property_tree::read_xml(in, tree);
  return tree;
}

// The property tree's parser does not compare closing tags with opening ones; this does.
bool
tags_nest(const std::string& markup)
{
  std::vector<std::string> open;
  for (std::size_t at = markup.find('<'); at != std::string::npos; at = markup.find('<', at + 1)) {
    const auto end = markup.find('>', at);
    if (end == std::string::npos) {
      return false;
    }
    const auto tag = markup.substr(at + 1, end - at - 1);
    const auto name = tag.substr(tag[0] == '/' ? 1 : 0, tag.find_first_of(" /", 1) - (tag[0] == '/' ? 1 : 0));
    if (tag[0] == '/') {
      if (open.empty() || open.back() != name) {
        return false;
      }
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(name);
    }
  }
  return open.empty();
}

// Every '&' starts one of the entities the escaping writes.
bool
ampersands_escaped(const std::string& markup)
{
  for (auto at = markup.find('&'); at != std::string::npos; at = markup.find('&', at + 1)) {
    const auto rest = markup.substr(at, 6);
    if (rest.rfind("&amp;", 0) != 0 && rest.rfind("&lt;", 0) != 0 && rest.rfind("&gt;", 0) != 0 &&
        rest.rfind("&quot;", 0) != 0 && rest.rfind("&apos;", 0) != 0) {
      return false;
    }
  }
  return true;
}

std::size_t
occurrences(const std::string& text, const std::string& part)
{
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) {
    ++n;
  }
  return n;
}

// The children named `name` of the <g data-part="part"> directly under <svg>.
std::size_t
marks(const ptree& tree, const std::string& part, const std::string& name)
{
  for (const auto& [key, child] : tree.get_child("svg")) {
    if (key == "g" && child.get("<xmlattr>.data-part", "") == part) {
      return static_cast<std::size_t>(
        std::count_if(child.begin(), child.end(), [&](const auto& c) { return c.first == name; }));
    }
  }
  return 0;
}

void
check_well_formed(const std::string& svg, const std::string& kind)
{
  CAPTURE(svg);
  REQUIRE(tags_nest(svg));
  CHECK(ampersands_escaped(svg));
  const auto tree = parse(svg);
  REQUIRE(tree.size() == 1);
  REQUIRE(tree.front().first == "svg");
  CHECK(tree.get<std::string>("svg.<xmlattr>.data-chart") == kind);
  CHECK(tree.get<std::string>("svg.<xmlattr>.xmlns") == "http://www.w3.org/2000/svg");
  CHECK(tree.get<std::string>("svg.<xmlattr>.role") == "img");
  CHECK(tree.get<std::string>("svg.<xmlattr>.width") == "100%");
  CHECK(std::regex_match(tree.get<std::string>("svg.<xmlattr>.viewBox"), std::regex("0 0 [0-9.]+ [0-9.]+")));
  // aria-labelledby names the title and the description, and both exist.
  const auto labelled = tree.get<std::string>("svg.<xmlattr>.aria-labelledby");
  CHECK(tree.get<std::string>("svg.title.<xmlattr>.id") + " " + tree.get<std::string>("svg.desc.<xmlattr>.id") ==
        labelled);
  CHECK_FALSE(tree.get<std::string>("svg.desc").empty());
}

std::vector<std::string>
month_labels(std::size_t n, const std::string& prefix)
{
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(prefix + std::to_string(i));
  }
  return out;
}

std::vector<std::vector<std::optional<double>>>
triangle(std::size_t n)
{
  std::vector<std::vector<std::optional<double>>> values(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < n - r; ++c) {
      values[r].push_back(c == 0 ? 1.0 : 0.3 / static_cast<double>(c));
    }
  }
  return values;
}

std::vector<std::pair<std::string, std::string>>
typical_charts()
{
  return {
    {share_bars("Lifecycle", {{"new", 400, 1200.5}, {"active", 500, 9000}, {"lost", 100, 0}}), "share_bars"},
    {flow("Stages", "2025-01-01", "2025-02-01", {"new", "active", "lost"}, {{10, 80, 10}, {0, 300, 50}, {0, 5, 95}}),
     "flow"},
    {heatmap("Retention", month_labels(6, "2025-0"), month_labels(6, "+"), triangle(6)), "heatmap"},
    {funnel("Welcome", {{"entered", 1000}, {"sent", 900}, {"opened", 300}, {"converted", 40}}), "funnel"},
    {interval_bars("Subject test", {{"control", 0.04, 0.031, 0.05, true, ""},
                                    {"B", 0.052, 0.04, 0.065, false, ""},
                                    {"C", 0, std::nullopt, std::nullopt, false, "no recipients yet"}}),
     "interval_bars"},
  };
}

} // namespace

TEST_SUITE("charts")
{
  TEST_CASE("every chart is one well-formed svg element naming its kind")
  {
    for (const auto& [svg, kind] : typical_charts()) {
      check_well_formed(svg, kind);
    }
  }

  TEST_CASE("the funnel prints each stage's count and its share of the first and the previous stage")
  {
    const auto svg = funnel("Welcome", {{"entered", 1000}, {"sent", 800}, {"delivered", 500}, {"opened", 250}});
    check_well_formed(svg, "funnel");
    CHECK(svg.find(">1,000<") != std::string::npos);
    CHECK(svg.find(">250 · 25.0% of first · 50.0% of previous<") != std::string::npos);
    CHECK(svg.find(">800 · 80.0% of first · 80.0% of previous<") != std::string::npos);
    CHECK(marks(parse(svg), "bars", "rect") == 4);
    CHECK(parse(svg).get<std::string>("svg.desc").find("opened 250 (25.0% of entered, 50.0% of delivered)") !=
          std::string::npos);
    CHECK(parse(svg).get<std::string>("svg.desc").find("sent 800 (80.0% of entered);") != std::string::npos);
  }

  TEST_CASE("a funnel whose first stage is empty prints counts without shares")
  {
    const auto svg = funnel("Nobody yet", {{"entered", 0}, {"sent", 0}});
    check_well_formed(svg, "funnel");
    CHECK(svg.find("of first") == std::string::npos);
    CHECK(svg.find("width=\"0.0\"") != std::string::npos);
  }

  TEST_CASE("the heatmap draws a cell for each value and leaves missing ones empty")
  {
    const auto full = heatmap("Retention", month_labels(24, "c"), month_labels(24, "+"),
                              std::vector<std::vector<std::optional<double>>>(
                                24, std::vector<std::optional<double>>(24, std::optional<double>(0.5))));
    check_well_formed(full, "heatmap");
    CHECK(marks(parse(full), "cells", "rect") == 24 * 24);
    CHECK(marks(parse(full), "values", "text") == 24 * 24);

    const auto part = heatmap("Retention", month_labels(24, "c"), month_labels(24, "+"), triangle(24));
    check_well_formed(part, "heatmap");
    CHECK(marks(parse(part), "cells", "rect") == 24 * 25 / 2);
    CHECK(part.find(">100%<") != std::string::npos);
    CHECK(part.find(">30%<") != std::string::npos);
  }

  TEST_CASE("heatmap text is dark on light cells and light on dark ones")
  {
    const auto svg = heatmap("Retention", {"2025-01"}, {"+0", "+1"}, {{0.0, 1.0}});
    check_well_formed(svg, "heatmap");
    CHECK(svg.find("fill=\"#000000\">0%<") != std::string::npos);
    CHECK(svg.find("fill=\"#ffffff\">100%<") != std::string::npos);
  }

  TEST_CASE("interval bars draw a whisker for each arm with an interval and none where it is missing")
  {
    const auto svg = interval_bars("Subject test", {{"control", 0.04, 0.031, 0.05, true, ""},
                                                    {"B", 0.052, 0.04, 0.065, false, ""},
                                                    {"C", 0, std::nullopt, std::nullopt, false, "no recipients yet"},
                                                    {"D", 0.02, 0.01, std::nullopt, false, ""}});
    check_well_formed(svg, "interval_bars");
    const auto tree = parse(svg);
    CHECK(marks(tree, "whiskers", "path") == 2);
    CHECK(marks(tree, "dots", "circle") == 4);
    CHECK(svg.find("data-part=\"reference\"") != std::string::npos);
    CHECK(svg.find("stroke-dasharray") != std::string::npos);
    CHECK(svg.find(">4.0% (3.1%–5.0%)<") != std::string::npos);
    CHECK(svg.find(">0.0% · no recipients yet<") != std::string::npos);
    CHECK(svg.find(">6%<") != std::string::npos); // the axis reaches past the highest interval end
  }

  TEST_CASE("share bars show each segment's share and name tiny segments in the legend only")
  {
    const auto svg = share_bars("Tiers", {{"gold", 300, 6000}, {"silver", 680, 3900}, {"tin", 20, 100}});
    check_well_formed(svg, "share_bars");
    CHECK(svg.find(">gold 30.0%<") != std::string::npos);
    CHECK(svg.find(">gold 60.0%<") != std::string::npos);
    CHECK(svg.find(">tin 2.0%<") == std::string::npos);
    CHECK(svg.find(">2.0%<") == std::string::npos);
    CHECK(svg.find(">tin<") != std::string::npos);
    CHECK(svg.find(">2.0% of customers · 1.0% of revenue<") != std::string::npos);
    CHECK(marks(parse(svg), "customers", "rect") == 3);
  }

  TEST_CASE("the flow draws one ribbon per move with its count in a tooltip, widths in proportion")
  {
    const auto svg =
      flow("Stages", "January", "February", {"new", "active", "lost"}, {{10, 80, 10}, {0, 300, 50}, {0, 5, 0}});
    check_well_formed(svg, "flow");
    CHECK(marks(parse(svg), "ribbons", "path") == 6);
    CHECK(marks(parse(svg), "nodes", "rect") == 6);
    CHECK(svg.find("<title>active → lost: 50</title>") != std::string::npos);
    CHECK(svg.find(">active 350<") != std::string::npos);
    CHECK(svg.find(">385 active<") != std::string::npos);
    std::smatch wide, narrow;
    REQUIRE(std::regex_search(svg, wide, std::regex("stroke-width=\"([0-9.]+)\"><title>active → active: 300")));
    REQUIRE(std::regex_search(svg, narrow, std::regex("stroke-width=\"([0-9.]+)\"><title>new → active: 80")));
    CHECK(std::stod(wide[1]) / std::stod(narrow[1]) == doctest::Approx(300.0 / 80).epsilon(0.01));
  }

  TEST_CASE("untrusted labels appear only escaped")
  {
    const std::string evil = "<script>alert(\"x\")</script> & co";
    const std::string garbled = std::string("bad\x01\xff byte");
    const std::vector<std::pair<std::string, std::string>> charts = {
      {share_bars(evil, {{evil, 5, 1}, {garbled, 5, 1}}), "share_bars"},
      {flow(evil, evil, evil, {evil, garbled}, {{1, 2}, {3, 4}}), "flow"},
      {heatmap(evil, {evil, garbled}, {evil}, {{0.5}, {0.25}}), "heatmap"},
      {funnel(evil, {{evil, 10}, {garbled, 5}}), "funnel"},
      {interval_bars(evil, {{evil, 0.1, 0.05, 0.2, true, evil}, {garbled, 0.2, {}, {}, false, garbled}}),
       "interval_bars"},
      {funnel(evil, {}), "funnel"},
    };
    for (const auto& [svg, kind] : charts) {
      check_well_formed(svg, kind);
      CHECK(svg.find("<script") == std::string::npos);
      CHECK(svg.find("alert(\"") == std::string::npos);
      CHECK(svg.find(" & ") == std::string::npos);
      CHECK(svg.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co") != std::string::npos);
      CHECK(svg.find('\x01') == std::string::npos);
      CHECK(svg.find('\xff') == std::string::npos);
      CHECK(parse(svg).get<std::string>("svg.title") == evil);
    }
  }

  TEST_CASE("long labels are shortened with an ellipsis and kept whole in a title")
  {
    const std::string long_label =
      "Customers who bought twice in the spring sale and never again since " + std::string(200, 'x') + " äöü";
    const auto svg = funnel(long_label, {{long_label, 10}, {"sent", 5}});
    check_well_formed(svg, "funnel");
    CHECK(svg.find(">Customers who bough\xE2\x80\xA6<") != std::string::npos); // 20 characters with the ellipsis
    CHECK(occurrences(svg, "<title>" + long_label + "</title>") >= 2);         // the chart title and the label
    // Shortening counts characters, not bytes, and never cuts one in half.
    const auto umlauts = share_bars("", {{std::string(40, 'a') + "ääääää", 1, 1}});
    check_well_formed(umlauts, "share_bars");
    CHECK(umlauts.find(">" + std::string(35, 'a') + "\xE2\x80\xA6<") != std::string::npos);
    const auto inside = interval_bars("", {{std::string(21, 'a') + "äb", 0.5, {}, {}, false, ""}});
    CHECK(inside.find(">" + std::string(21, 'a') + "\xE2\x80\xA6<") != std::string::npos);
    const auto exact = interval_bars("", {{std::string(20, 'a') + "äb", 0.5, {}, {}, false, ""}});
    CHECK(exact.find(">" + std::string(20, 'a') + "äb<") != std::string::npos);
  }

  TEST_CASE("edge cases never print nan, inf or negative sizes")
  {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    const std::vector<std::pair<std::string, std::string>> charts = {
      {share_bars("t", {}), "share_bars"},
      {share_bars("t", {{"a", 0, 0}, {"b", 0, 0}}), "share_bars"},
      {share_bars("t", {{"a", 1, nan}, {"b", 0, -inf}, {"c", 0, inf}}), "share_bars"},
      {share_bars("t", {{"only", 7, 3}}), "share_bars"},
      {flow("t", "a", "b", {}, {}), "flow"},
      {flow("t", "a", "b", {"x", "y"}, {{0, 0}, {0, 0}}), "flow"},
      {flow("t", "a", "b", {"x"}, {{5}}), "flow"},
      {flow("t", "a", "b", {"x", "y", "z"}, {{1}}), "flow"}, // a short matrix counts as zeros
      {heatmap("t", {}, {}, {}), "heatmap"},
      {heatmap("t", {"r"}, {"c"}, {}), "heatmap"},
      {heatmap("t", {"r"}, {"0", "1", "2", "3", "4"}, {{0.0, 1.0, nan, inf, -1.0}}), "heatmap"},
      {funnel("t", {}), "funnel"},
      {funnel("t", {{"only", 0}}), "funnel"},
      {funnel("t", {{"a", 0}, {"b", 5}}), "funnel"},
      {interval_bars("t", {}), "interval_bars"},
      {interval_bars("t", {{"a", 0, 0.0, 0.0, true, ""}, {"b", 0, {}, {}, false, ""}}), "interval_bars"},
      {interval_bars("t", {{"a", 1, 1.0, 1.0, true, ""}, {"b", 1, 0.0, 1.0, false, ""}}), "interval_bars"},
      {interval_bars("t", {{"a", nan, nan, inf, true, ""}, {"b", inf, -inf, 2.0, false, ""}}), "interval_bars"},
      {interval_bars("t", {{"a", 0.5, 0.7, 0.3, false, ""}}), "interval_bars"},
      {interval_bars("t", {{"a", 1e-9, 0.0, 2e-9, false, ""}}), "interval_bars"},
    };
    const std::regex negative_size("(width|height|r|stroke-width)=\"-");
    for (const auto& [svg, kind] : charts) {
      check_well_formed(svg, kind);
      std::string lower = svg;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      CHECK(lower.find("nan") == std::string::npos);
      CHECK(lower.find("inf") == std::string::npos);
      CHECK_FALSE(std::regex_search(svg, negative_size));
      CHECK(svg.find("\"-0.0\"") == std::string::npos);
    }
    for (std::size_t i : {0u, 4u, 8u, 11u, 14u}) {
      CHECK(charts[i].first.find(">no data yet<") != std::string::npos);
    }
    CHECK(charts[1].first.find(">no customers<") != std::string::npos);
    CHECK(charts[5].first.find(">no customers at either date<") != std::string::npos);
    // Out of range values are clamped, values that are not numbers are left out.
    CHECK(marks(parse(charts[10].first), "cells", "rect") == 3);
    CHECK(charts[10].first.find(">-") == std::string::npos);
    CHECK(occurrences(charts[17].first, ">no estimate<") == 2);
    CHECK(marks(parse(charts[17].first), "dots", "circle") == 0);
    CHECK(charts[17].first.find("data-part=\"reference\"") == std::string::npos);
  }

  TEST_CASE("the same input gives the same bytes, different charts different ids")
  {
    const auto first = typical_charts(), second = typical_charts();
    for (std::size_t i = 0; i < first.size(); ++i) {
      CHECK(first[i].first == second[i].first);
    }
    const auto a = funnel("A", {{"entered", 10}}), b = funnel("B", {{"entered", 10}});
    CHECK(parse(a).get<std::string>("svg.title.<xmlattr>.id") != parse(b).get<std::string>("svg.title.<xmlattr>.id"));
  }
}
