#include "catalogue.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <unordered_map>

namespace cvmd::dsl {

const char*
to_string(ValueType type)
{
  switch (type) {
  case ValueType::number:
    return "number";
  case ValueType::text:
    return "text";
  case ValueType::boolean:
    return "boolean";
  case ValueType::choice:
    return "choice";
  }
  return "text";
}

namespace {

// Arrays of literals, initialised before any code runs: the catalogue is read while other
// files' statics are initialised (the engine resolves its columns then), so it must not
// depend on their order.
constexpr std::string_view lifecycle_stages[] = {"prospect", "new", "active", "lapsing", "inactive"};
constexpr std::string_view rfm_segments[] = {
  "champions", "loyal",    "potential_loyalist", "new",         "promising", "need_attention",
  "about_to_sleep", "at_risk", "cant_lose",     "hibernating", "lost"};
constexpr std::string_view value_tiers[] = {"high", "medium", "low"};

template <std::size_t N>
std::vector<std::string_view>
list_of(const std::string_view (&values)[N])
{
  return {std::begin(values), std::end(values)};
}

} // namespace

const std::vector<AttributeInfo>&
attributes()
{
  static const std::vector<AttributeInfo> list = {
    {"orders", ValueType::number, "number of orders", 0.0, {}, {}, true},
    {"revenue", ValueType::number, "total money spent (monetary)", 0.0, {}, {}, true},
    {"aov", ValueType::number, "average order value: revenue / orders", 0.0},
    {"days_since_last_order", ValueType::number, "recency: days since the last order", 0.0},
    {"days_since_first_order", ValueType::number, "tenure: days since the first order", 0.0},
    {"avg_days_between_orders", ValueType::number, "mean gap between consecutive orders, in days", 0.0},
    {"r_score", ValueType::number, "recency score, 1 (long ago) to 5 (recent), by quintiles", 1.0, 5.0},
    {"f_score", ValueType::number, "frequency score, 1 to 5, by quintiles", 1.0, 5.0},
    {"m_score", ValueType::number, "monetary score, 1 to 5, by quintiles", 1.0, 5.0},
    {"rfm", ValueType::text, "the three scores as a code, e.g. \"545\""},
    {"rfm_segment", ValueType::choice, "named RFM segment", {}, {}, list_of(rfm_segments)},
    {"lifecycle", ValueType::choice, "lifecycle stage from the configured thresholds", {}, {}, list_of(lifecycle_stages)},
    {"vip", ValueType::boolean, "matches the configured VIP rule (default: top 5% by revenue)"},
    {"value_tier", ValueType::choice, "high, medium or low by share of revenue", {}, {}, list_of(value_tiers)},
    {"clv", ValueType::number, "predicted customer lifetime value over the configured horizon", 0.0},
    {"p_alive", ValueType::number, "probability that the customer is still active (BG/NBD)", 0.0, 1.0},
    {"expected_orders", ValueType::number, "predicted orders over the configured horizon", 0.0},
    {"first_name", ValueType::text, "first name"},
    {"last_name", ValueType::text, "last name"},
    {"email", ValueType::text, "email address"},
    {"phone", ValueType::text, "phone number (E.164)"},
    {"country", ValueType::text, "country code (ISO 3166-1 alpha-2)"},
    {"timezone", ValueType::text, "IANA time zone, e.g. Europe/Berlin"},
    {"email_consent", ValueType::boolean, "agreed to receive email"},
    {"sms_consent", ValueType::boolean, "agreed to receive SMS"},
    {"acquisition_channel", ValueType::text, "where the customer came from"},
  };
  return list;
}

std::optional<std::size_t>
find_attribute(std::string_view lower_name)
{
  // The snapshot looks attributes up by name per customer; a scan of ~40 names each time
  // showed up in its profile.
  static const std::unordered_map<std::string_view, std::size_t> by_name = [] {
    std::unordered_map<std::string_view, std::size_t> out;
    const auto& list = attributes();
    for (std::size_t i = 0; i < list.size(); ++i) {
      out.emplace(list[i].name, i);
    }
    return out;
  }();
  const auto it = by_name.find(lower_name);
  return it == by_name.end() ? std::nullopt : std::optional<std::size_t>(it->second);
}

const std::vector<BuiltinSegment>&
builtin_segments()
{
  static const std::vector<BuiltinSegment> list = [] {
    std::vector<BuiltinSegment> out;
    for (auto stage : lifecycle_stages) {
      out.push_back({stage, "lifecycle", stage});
    }
    // `new` is taken by the lifecycle stage; the RFM one is `rfm_segment = "new"`.
    for (auto segment : rfm_segments) {
      if (segment != "new") {
        out.push_back({segment, "rfm_segment", segment});
      }
    }
    return out;
  }();
  return list;
}

const BuiltinSegment*
find_builtin_segment(std::string_view lower_name)
{
  const auto& list = builtin_segments();
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& s) { return s.name == lower_name; });
  return it == list.end() ? nullptr : &*it;
}

const std::vector<MessageVariable>&
message_variables()
{
  static const std::vector<MessageVariable> list = {
    {"unsubscribe_url", "signed one-click unsubscribe link for this customer and channel"},
    {"message_id", "the message's idempotency key"},
    {"customer_id", "the customer's id in the shop"},
    {"scenario", "name of the scenario sending the message"},
    {"variant", "split variant the customer is in (empty outside splits)"},
  };
  return list;
}

const std::vector<std::string_view>&
known_events()
{
  static const std::vector<std::string_view> list = {
    "order", "first_order", "cart_abandoned", "checkout_started", "product_viewed", "signup", "birthday",
  };
  return list;
}

bool
is_profile_reference(std::string_view lower_name)
{
  return lower_name.size() > 8 && lower_name.substr(0, 8) == "profile.";
}

std::string
format_catalogue_text()
{
  std::string out = "Customer attributes (names are case-insensitive):\n";
  for (const auto& a : attributes()) {
    std::string line = "  " + std::string(a.name);
    line.resize(28, ' ');
    std::string type = to_string(a.type);
    type.resize(9, ' ');
    out += line + type + std::string(a.meaning);
    if (!a.choices.empty()) {
      out += " (";
      for (std::size_t i = 0; i < a.choices.size(); ++i) {
        out += (i ? ", " : "") + std::string(a.choices[i]);
      }
      out += ")";
    }
    out += '\n';
  }
  out += "  profile.NAME              text     a custom field from the customer import\n";
  out += "\nSegment names usable alone in conditions:\n";
  for (const auto& s : builtin_segments()) {
    std::string line = "  " + std::string(s.name);
    line.resize(28, ' ');
    out += line + std::string(s.attribute) + " = \"" + std::string(s.value) + "\"\n";
  }
  out += "\nMessage variables (templates only):\n";
  for (const auto& v : message_variables()) {
    std::string line = "  " + std::string(v.name);
    line.resize(28, ' ');
    out += line + std::string(v.meaning) + '\n';
  }
  return out;
}

std::string
format_catalogue_json()
{
  boost::json::array attrs;
  for (const auto& a : attributes()) {
    boost::json::object o;
    o["name"] = a.name;
    o["type"] = to_string(a.type);
    o["meaning"] = a.meaning;
    if (a.min) {
      o["min"] = *a.min;
    }
    if (a.max) {
      o["max"] = *a.max;
    }
    if (!a.choices.empty()) {
      boost::json::array choices;
      for (auto c : a.choices) {
        choices.emplace_back(c);
      }
      o["choices"] = std::move(choices);
    }
    attrs.push_back(std::move(o));
  }
  boost::json::array segments;
  for (const auto& s : builtin_segments()) {
    segments.push_back(boost::json::object{{"name", s.name}, {"attribute", s.attribute}, {"value", s.value}});
  }
  boost::json::array variables;
  for (const auto& v : message_variables()) {
    variables.push_back(boost::json::object{{"name", v.name}, {"meaning", v.meaning}});
  }
  return boost::json::serialize(
    boost::json::object{{"attributes", attrs}, {"segments", segments}, {"message_variables", variables}});
}

} // namespace cvmd::dsl
