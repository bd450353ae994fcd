#include "engine/render.hpp"

#include <kainjow/mustache.hpp>

#include <cmath>
#include <cstdio>

namespace cvmd {

namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

data
customer_data(const CustomerState& state, std::size_t i, const OutboxMessage& message, const MessageLinks& links)
{
  data d;
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
      }
      break;
    }
    case dsl::ValueType::boolean:
      d.set(name, state.flag(id, i) ? data::type::bool_true : data::type::bool_false);
      break;
    default:
      d.set(name, std::string(state.text(id, i)));
      break;
    }
  }
  data profile;
  for (const auto& field : state.profile_names()) {
    profile.set(field, std::string(state.profile(field, i)));
  }
  d.set("profile", profile);
  d.set("message_id", message.key);
  d.set("scenario", message.scenario);
  d.set("variant", message.variant);
  d.set("unsubscribe_url", links.unsubscribe_url);
  return d;
}

Result<std::string>
render_field(const dsl::MessageTemplate& t, const std::string& field, const data& values, bool html)
{
  const auto it = t.fields.find(field);
  if (it == t.fields.end()) {
    return std::string();
  }
  mustache compiled(it->second);
  if (!compiled.is_valid()) {
    return Result<std::string>::failure(t.path + ": " + field + ": " + compiled.error_message());
  }
  if (!html) {
    compiled.set_custom_escape([](const std::string& s) { return s; });
  }
  return compiled.render(values);
}

} // namespace

Result<RenderedMessage>
render_message(const dsl::MessageTemplate& t, const CustomerState& state, std::size_t customer,
               const OutboxMessage& message, const MessageLinks& links)
{
  const auto values = customer_data(state, customer, message, links);
  RenderedMessage out;
  out.key = message.key;
  out.channel = message.channel;
  static const auto email = static_cast<dsl::AttrId>(*dsl::find_attribute("email"));
  static const auto phone = static_cast<dsl::AttrId>(*dsl::find_attribute("phone"));
  out.to = message.channel == "email" ? std::string(state.text(email, customer))
           : message.channel == "sms" ? std::string(state.text(phone, customer))
                                      : std::string();
  for (auto [field, target, html] : {std::tuple{"subject", &out.subject, false}, std::tuple{"text", &out.text, false},
                                     std::tuple{"html", &out.html, true}}) {
    auto rendered = render_field(t, field, values, html);
    if (!rendered) {
      return Result<RenderedMessage>::failure(rendered.error());
    }
    *target = *rendered;
  }
  if (out.text.empty()) { // webhooks and SMS may call their body `body`
    auto body = render_field(t, "body", values, false);
    if (!body) {
      return Result<RenderedMessage>::failure(body.error());
    }
    out.text = *body;
  }
  return out;
}

} // namespace cvmd
