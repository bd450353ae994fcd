#pragma once
// Parsing of the values in imported rows: times, booleans, money. Each returns the value
// or says what is wrong with the text, for `FILE:LINE: reason` messages.

#include "engine/result.hpp"

#include <cstdint>
#include <string>

namespace cvmd {

// ISO 8601: `2026-03-01` (midnight UTC) or a date-time with offset,
// `2026-03-01T14:30:00Z`, `2026-03-01 14:30:00+01:00`, with optional fractions.
Result<std::int64_t> parse_time(const std::string& text);
Result<bool> parse_bool(const std::string& text);
// A non-negative decimal amount in major units, to cents (at most 4 decimals, rounded).
Result<std::int64_t> parse_amount(const std::string& text);

std::string format_time(std::int64_t seconds); // 2026-03-01T14:30:00Z
// The text as the inside of a JSON string (Boost.JSON's escaping, without the quotes).
std::string json_escaped(const std::string& text);
std::string format_date(std::int64_t seconds); // 2026-03-01

} // namespace cvmd
