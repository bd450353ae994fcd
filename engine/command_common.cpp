#include "engine/command_common.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <iostream>

namespace cvmd {

std::optional<dsl::LoadResult>
load_scenarios(const Config& config, const std::string& folder, const std::string& command, const std::string& not_done,
               int& exit_code)
{
  auto loaded =
    dsl::load({folder.empty() ? config.scenarios : folder}, config.templates_set ? config.templates : std::string());
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

CustomerEvent
event_of(const EventRow& row, bool late)
{
  CustomerEvent e{row.customer_id, row.type, row.at, property_name(row.properties), 0, {}, late, {}};
  if (row.type == "clicked" && !row.properties.empty()) { // only clicks steer optimized splits
    boost::system::error_code ec;
    const auto value = boost::json::parse(row.properties, ec);
    if (!ec && value.is_object()) {
      if (const auto* key = value.as_object().if_contains("message_key"); key && key->is_string()) {
        e.message_key = std::string(key->as_string());
      }
    }
  }
  return e;
}

bool
uses_predictions(const dsl::Program& program)
{
  const auto uses = [&](const dsl::Condition& c) {
    static const std::size_t predicted[] = {*dsl::find_attribute("clv"), *dsl::find_attribute("p_alive"),
                                            *dsl::find_attribute("expected_orders")};
    return std::any_of(c.nodes.begin(), c.nodes.end(), [](const dsl::Node& n) {
      return n.kind != dsl::NodeKind::segment && n.kind != dsl::NodeKind::event &&
             (std::find(std::begin(predicted), std::end(predicted), n.attr) != std::end(predicted) ||
              (n.kind == dsl::NodeKind::compare_attrs &&
               std::find(std::begin(predicted), std::end(predicted), n.attr2) != std::end(predicted)));
    });
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

// Every scenario file of the program, as one JSON array: a pinned version is compiled
// again from exactly what it was compiled from (segments may live in other files).
std::optional<std::string>
sources_json(const std::vector<std::string>& files)
{
  boost::json::array out;
  for (const auto& path : files) {
    auto text = dsl::read_text_file(path);
    if (!text) {
      return std::nullopt;
    }
    out.push_back(boost::json::object{{"path", path}, {"text", *text}});
  }
  return boost::json::serialize(out);
}

OutboxMessage
planned_message(const Decision& d)
{
  OutboxMessage m;
  m.key = d.key;
  m.enrollment = d.enrollment;
  m.customer_id = d.customer;
  m.scenario = d.scenario;
  m.version = d.version;
  m.step = d.step;
  m.channel = d.channel;
  m.template_name = d.template_name;
  m.variant = d.variant;
  m.due_at = d.at;
  return m;
}

} // namespace cvmd
