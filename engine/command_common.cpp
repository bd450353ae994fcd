#include "engine/command_common.hpp"

#include <boost/json.hpp>

#include <iostream>

namespace cvmd {

std::optional<dsl::LoadResult>
load_scenarios(const Config& config, const std::string& folder, const std::string& command, const std::string& not_done,
               int& exit_code)
{
  auto loaded = dsl::load({folder.empty() ? config.scenarios : folder}, config.templates_set ? config.templates : std::string());
  if (loaded.usage_error) {
    std::cerr << "cvmd " << command << ": " << *loaded.usage_error << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!loaded.program) { // refused whole: never a half-applied scenario set
    for (const auto& d : loaded.diagnostics.all()) {
      std::cerr << dsl::format_text(d);
    }
    std::cerr << "cvmd " << command << ": the scenarios have errors; " << not_done << "\n";
    exit_code = 1;
    return std::nullopt;
  }
  return loaded;
}

// opened/clicked name their template, unsubscribed its channel, in the event's properties.
std::string
property_name(const std::string& properties)
{
  if (properties.empty()) {
    return {};
  }
  boost::system::error_code ec;
  const auto value = boost::json::parse(properties, ec);
  if (ec || !value.is_object()) {
    return {};
  }
  for (const char* key : {"template", "channel"}) {
    if (const auto* found = value.as_object().if_contains(key); found && found->is_string()) {
      return std::string(found->as_string());
    }
  }
  return {};
}

bool
uses_predictions(const dsl::Program& program)
{
  const auto uses = [&](const dsl::Condition& c) {
    for (const auto& n : c.nodes) {
      const auto& name = dsl::attributes()[std::min<std::size_t>(n.attr, dsl::attributes().size() - 1)].name;
      if (n.attr < dsl::attributes().size() && (name == "clv" || name == "p_alive" || name == "expected_orders")) {
        return true;
      }
    }
    return false;
  };
  for (const auto& c : program.segments) {
    if (uses(c)) {
      return true;
    }
  }
  for (const auto& s : program.scenarios) {
    bool any = uses(s.when) || uses(s.where) || uses(s.exit);
    for (const auto& step : s.steps) {
      any = any || uses(step.condition);
    }
    if (any) {
      return true;
    }
  }
  return false;
}

} // namespace cvmd
