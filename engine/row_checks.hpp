#pragma once
// What makes a customer, order or event row valid, from named text fields (a CSV or JSON
// Lines record, or an event posted to the daemon): one set of rules for every way in.
// Each returns the problem ("ordered_at: not an ISO 8601 time") or an empty string.

#include "engine/records.hpp"
#include "engine/store.hpp"

#include <string>
#include <string_view>

namespace cvmd {

std::string_view trim(std::string_view text);
// An id names one customer or order forever: printable, short, no surrounding blanks.
std::string check_id(std::string_view name, const std::string& value);

std::string parse_customer(const Record& record, CustomerRow& row);
// `now`: times more than a day after it are refused; `scratch` is reused between rows.
std::string parse_order(const Record& record, std::int64_t now, OrderRow& row, std::string& scratch);
// The same with the order's fields found already (the required ones are not null): an
// import of a CSV file looks the columns up once for all rows.
struct OrderFields
{
  const std::string* order_id = nullptr;
  const std::string* customer_id = nullptr;
  const std::string* ordered_at = nullptr;
  const std::string* amount = nullptr;
  const std::string* currency = nullptr; // optional
  const std::string* category = nullptr; // optional
};
std::string parse_order(const OrderFields& fields, std::int64_t now, OrderRow& row, std::string& scratch);
std::string parse_event(const Record& record, std::int64_t now, EventRow& row);

} // namespace cvmd
