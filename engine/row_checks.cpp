#include "engine/row_checks.hpp"

#include "dsl/source.hpp"
#include "engine/policies.hpp"
#include "engine/values.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace cvmd {

std::string_view
trim(std::string_view text)
{
  // By hand: find_first_not_of looks each character up in the set, per field of every row.
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  std::size_t first = 0;
  std::size_t last = text.size();
  while (first < last && blank(text[first])) {
    ++first;
  }
  while (last > first && blank(text[last - 1])) {
    --last;
  }
  return text.substr(first, last - first);
}

// An id names one customer or order forever: printable, short, no surrounding blanks.
std::string
check_id(std::string_view view, const std::string& value)
{
  // Printable ASCII first: a valid id costs neither a copy of its name nor a UTF-8 walk.
  if (!value.empty() && value.size() <= 200 &&
      std::all_of(value.begin(), value.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; })) {
    return {};
  }
  const std::string name(view);
  if (value.empty()) {
    return name + " is empty";
  }
  if (value.size() > 200) {
    return name + " is longer than 200 characters";
  }
  if (dsl::find_invalid_utf8(value) != std::string::npos) {
    return name + " is not valid UTF-8";
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return name + " contains a control character";
    }
  }
  return {};
}

std::string
parse_customer(const Record& r, CustomerRow& row)
{
  row.customer_id = trim(*r.find("customer_id"));
  if (auto p = check_id("customer_id", row.customer_id); !p.empty()) {
    return p;
  }
  const auto& fields = customer_fields();
  for (const auto& [name, raw] : r.fields) {
    const std::string value(trim(raw));
    if (name == "customer_id") {
      continue;
    }
    if (name == "email_consent" || name == "sms_consent") {
      if (value.empty()) {
        continue;
      }
      auto flag = parse_bool(value);
      if (!flag) {
        return name + ": " + flag.error();
      }
      (name == "email_consent" ? row.email_consent : row.sms_consent) = *flag;
    } else if (std::find(fields.begin(), fields.end(), name) != fields.end()) {
      if (name == "email" && !value.empty() &&
          (value.find('@') == std::string::npos || value.find_first_of(" \t<>,;") != std::string::npos)) {
        return "email '" + value + "' is not an email address";
      }
      if (name == "timezone" && !value.empty() && !known_time_zone(value)) {
        return "timezone '" + value + "' is not an IANA time zone (e.g. Europe/Berlin, or UTC)";
      }
      if (name == "country" && !value.empty() &&
          (value.size() != 2 || !std::isalpha(static_cast<unsigned char>(value[0])) ||
           !std::isalpha(static_cast<unsigned char>(value[1])))) {
        return "country '" + value + "' is not a two-letter code (ISO 3166-1, e.g. DE)";
      }
      std::string stored = value;
      if (name == "country") {
        std::transform(stored.begin(), stored.end(), stored.begin(), [](unsigned char c) { return std::toupper(c); });
      }
      row.fields[name] = stored;
    } else if (!name.empty()) {
      row.profile[name] = value; // other columns: custom profile fields
    }
  }
  return {};
}

std::string
parse_order(const Record& r, std::int64_t now, OrderRow& row, std::string& scratch)
{
  return parse_order(OrderFields{r.find("order_id"), r.find("customer_id"), r.find("ordered_at"), r.find("amount"),
                                 r.find("currency"), r.find("category")},
                     now, row, scratch);
}

std::string
parse_order(const OrderFields& f, std::int64_t now, OrderRow& row, std::string& scratch)
{
  row.currency.clear(); // JSON Lines rows need not all have the optional fields
  row.category.clear();
  row.order_id = trim(*f.order_id);
  row.customer_id = trim(*f.customer_id);
  for (const auto& [name, value] : {std::pair{"order_id", &row.order_id}, std::pair{"customer_id", &row.customer_id}}) {
    if (auto p = check_id(name, *value); !p.empty()) {
      return p;
    }
  }
  auto at = parse_time(scratch.assign(trim(*f.ordered_at)));
  if (!at) {
    return "ordered_at: " + at.error();
  }
  if (*at > now + 86400) {
    return "ordered_at " + format_time(*at) + " is in the future";
  }
  row.ordered_at = *at;
  auto amount = parse_amount(scratch.assign(trim(*f.amount)));
  if (!amount) {
    return amount.error();
  }
  row.amount_cents = *amount;
  if (f.currency) {
    row.currency = trim(*f.currency);
    if (!row.currency.empty() &&
        (row.currency.size() != 3 || !std::all_of(row.currency.begin(), row.currency.end(),
                                                  [](unsigned char c) { return c >= 'A' && c <= 'Z'; }))) {
      return "currency '" + row.currency + "' is not a three-letter code (ISO 4217, e.g. EUR)";
    }
  }
  if (f.category) {
    row.category = trim(*f.category);
  }
  return {};
}

std::string
parse_event(const Record& r, std::int64_t now, EventRow& row)
{
  std::string scratch;
  row.customer_id = trim(*r.find("customer_id"));
  if (auto p = check_id("customer_id", row.customer_id); !p.empty()) {
    return p;
  }
  row.type = trim(*r.find("type"));
  if (auto p = check_id("type", row.type); !p.empty()) {
    return p;
  }
  auto at = parse_time(scratch.assign(trim(*r.find("at"))));
  if (!at) {
    return "at: " + at.error();
  }
  if (*at > now + 86400) {
    return "at " + format_time(*at) + " is in the future";
  }
  row.at = *at;
  if (const auto* properties = r.find("properties"); properties && !trim(*properties).empty()) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(*properties, ec);
    if (ec || !value.is_object()) {
      return "properties must be a JSON object";
    }
    row.properties = boost::json::serialize(value);
  }
  return {};
}

} // namespace cvmd
