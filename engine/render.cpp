#include "engine/render.hpp"

#include "engine/values.hpp"

#include <kainjow/mustache.hpp>

#include <cmath>
#include <cstdio>
#include <set>

namespace cvmd {

namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

// Empty texts are false, so that {{#first_name}}Hi {{first_name}}{{/first_name}} works
// as "when there is one"; `empty` collects the names that have no value.
data
customer_data(const CustomerState& state, std::size_t i, const OutboxMessage& message,
              const std::string& unsubscribe_url, std::set<std::string>& empty)
{
  data d;
  const auto set_text = [&](data& target, const std::string& name, std::string value, const std::string& full_name) {
    if (value.empty()) {
      empty.insert(full_name);
      target.set(name, data::type::bool_false);
    } else {
      target.set(name, std::move(value));
    }
  };
  const auto& attributes = dsl::attributes();
  for (std::size_t a = 0; a < attributes.size(); ++a) {
    const auto id = static_cast<dsl::AttrId>(a);
    const std::string name(attributes[a].name);
    switch (attributes[a].type) {
    case dsl::ValueType::number: {
      const double value = state.number(id, i);
      if (std::isfinite(value)) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, value == std::floor(value) ? "%.0f" : "%.2f", value);
        d.set(name, std::string(buffer));
      } else {
        empty.insert(name);
      }
      break;
    }
    case dsl::ValueType::boolean:
      d.set(name, state.flag(id, i) ? data::type::bool_true : data::type::bool_false);
      break;
    default:
      set_text(d, name, std::string(state.text(id, i)), name);
      break;
    }
  }
  data profile;
  for (const auto& field : state.profile_names()) {
    set_text(profile, field, std::string(state.profile(field, i)), "profile." + field);
  }
  d.set("profile", profile);
  set_text(d, "message_id", message.key, "message_id");
  set_text(d, "customer_id", message.customer_id, "customer_id");
  set_text(d, "scenario", message.scenario, "scenario");
  set_text(d, "variant", message.variant, "variant");
  set_text(d, "unsubscribe_url", unsubscribe_url, "unsubscribe_url");
  return d;
}

enum class Escape
{
  none,
  html,
  json
};

Result<std::string>
render_field(const dsl::MessageTemplate& t, const std::string& field, const data& values, Escape escape)
{
  const auto it = t.fields.find(field);
  if (it == t.fields.end()) {
    return std::string();
  }
  mustache compiled(it->second);
  if (!compiled.is_valid()) {
    return Result<std::string>::failure(t.path + ": " + field + ": " + compiled.error_message());
  }
  if (escape == Escape::none) {
    compiled.set_custom_escape([](const std::string& s) { return s; });
  } else if (escape == Escape::json) {
    // Inside a JSON string: a customer's name can never break (or inject into) a webhook's body.
    compiled.set_custom_escape(json_escaped);
  }
  return compiled.render(values);
}

} // namespace

Result<RenderedMessage>
render_message(const dsl::MessageTemplate& t, const CustomerState& state, std::size_t customer,
               const OutboxMessage& message, const LinkSigner* links)
{
  static const auto email = static_cast<dsl::AttrId>(*dsl::find_attribute("email"));
  static const auto phone = static_cast<dsl::AttrId>(*dsl::find_attribute("phone"));
  static const auto first_name = static_cast<dsl::AttrId>(*dsl::find_attribute("first_name"));
  static const auto last_name = static_cast<dsl::AttrId>(*dsl::find_attribute("last_name"));
  RenderedMessage out;
  out.key = message.key;
  out.channel = message.channel;
  out.to = message.channel == "email" ? std::string(state.text(email, customer))
           : message.channel == "sms" ? std::string(state.text(phone, customer))
                                      : std::string();
  out.to_name = std::string(state.text(first_name, customer));
  if (const auto last = state.text(last_name, customer); !last.empty()) {
    out.to_name += (out.to_name.empty() ? "" : " ") + std::string(last);
  }
  if (links && message.channel != "webhook") {
    out.unsubscribe_url = links->unsubscribe(message.key, message.customer_id, message.channel);
  }
  if (links && message.channel == "sms") {
    out.status_url = links->delivery_report(message.key, message.customer_id);
  }
  std::set<std::string> empty;
  const auto values = customer_data(state, customer, message, out.unsubscribe_url, empty);
  for (const auto& [field, text] : t.fields) {
    if (field != "subject" && field != "text" && field != "html" && field != "body") {
      continue;
    }
    for (const auto& name : dsl::unguarded_variables(text)) {
      if (empty.count(name)) {
        return Result<RenderedMessage>::failure(t.path + ": " + field + ": {{" + name + "}} is empty for customer " +
                                                message.customer_id + " (show it only when present: {{#" + name +
                                                "}}...{{/" + name + "}})");
      }
    }
  }
  for (auto [field, target, escape] :
       {std::tuple{"subject", &out.subject, Escape::none}, std::tuple{"text", &out.text, Escape::none},
        std::tuple{"html", &out.html, Escape::html}}) {
    auto rendered = render_field(t, field, values, escape);
    if (!rendered) {
      return Result<RenderedMessage>::failure(rendered.error());
    }
    *target = *rendered;
  }
  if (out.text.empty()) { // webhooks and SMS may call their body `body`
    // A webhook body is JSON unless its template says otherwise (content_type).
    const auto type = t.fields.find("content_type");
    const bool json =
      message.channel == "webhook" && (type == t.fields.end() || type->second.find("json") != std::string::npos);
    auto body = render_field(t, "body", values, json ? Escape::json : Escape::none);
    if (!body) {
      return Result<RenderedMessage>::failure(body.error());
    }
    out.text = *body;
  }
  if (links && !out.html.empty()) {
    out.html = track_html(out.html, *links, message.key, message.customer_id);
  }
  return out;
}

} // namespace cvmd
