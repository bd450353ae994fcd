#include "engine/timeline.hpp"

#include "engine/values.hpp"

#include <boost/json.hpp>

#include <cstdio>

namespace cvmd {

const char*
to_string(Action action)
{
  switch (action) {
  case Action::enter:
    return "enter";
  case Action::send:
    return "send";
  case Action::skip:
    return "skip";
  case Action::suppress:
    return "suppress";
  case Action::defer:
    return "defer";
  case Action::exit:
    return "exit";
  case Action::convert:
    return "convert";
  }
  return "?";
}

std::string
to_json_line(const Decision& d)
{
  // Built by hand in a fixed key order; values go through Boost.JSON's escaping.
  const auto text = [](const std::string& s) { return boost::json::serialize(boost::json::value(s)); };
  std::string out = "{\"at\":" + text(format_time(d.at)) + ",\"customer\":" + text(d.customer) +
                    ",\"scenario\":" + text(d.scenario) + ",\"version\":" + text(d.version) +
                    ",\"step\":" + std::to_string(d.step) + ",\"action\":" + text(to_string(d.action)) +
                    ",\"channel\":" + text(d.channel) + ",\"template\":" + text(d.template_name) +
                    ",\"variant\":" + text(d.variant) + ",\"reason\":" + text(d.reason);
  if (!d.key.empty()) {
    out += ",\"key\":" + text(d.key);
  }
  if (d.action == Action::convert) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%lld.%02lld", static_cast<long long>(d.revenue_cents / 100),
                  static_cast<long long>(d.revenue_cents % 100));
    out += ",\"revenue\":" + std::string(buffer);
  }
  return out + "}";
}

std::string
table_header()
{
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%-20s  %-12s  %-20s  %4s  %-8s  %-5s  %-20s  %-10s  %s", "at", "customer",
                "scenario", "step", "action", "chan", "template", "variant", "reason");
  return buffer;
}

std::string
to_table_line(const Decision& d)
{
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%-20s  %-12s  %-20s  %4s  %-8s  %-5s  %-20s  %-10s  ", format_time(d.at).c_str(),
                d.customer.c_str(), d.scenario.c_str(), d.step ? std::to_string(d.step).c_str() : "-",
                to_string(d.action), d.channel.c_str(), d.template_name.c_str(), d.variant.c_str());
  return buffer + d.reason;
}

} // namespace cvmd
