#include "engine/values.hpp"

#include <boost/json.hpp>

// date.h's parser, built with ONLY_C_LOCALE (which date-tz requires for the whole engine),
// makes GCC 12 see a maybe-uninitialized value inside the library's own code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <date/date.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace cvmd {

namespace {

// `YYYY-MM-DDTHH:MM:SSZ`, the form most exports write, without a stream; anything else
// goes through date::parse.
bool
parse_canonical(const std::string& t, std::int64_t& out)
{
  if (t.size() != 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') || t[13] != ':' || t[16] != ':' ||
      (t[19] != 'Z' && t[19] != 'z')) {
    return false;
  }
  int v[6];
  const int at[6] = {0, 5, 8, 11, 14, 17};
  const int len[6] = {4, 2, 2, 2, 2, 2};
  for (int k = 0; k < 6; ++k) {
    v[k] = 0;
    for (int i = 0; i < len[k]; ++i) {
      const char c = t[static_cast<std::size_t>(at[k] + i)];
      if (c < '0' || c > '9') {
        return false;
      }
      v[k] = v[k] * 10 + (c - '0');
    }
  }
  const date::year_month_day ymd{date::year{v[0]}, date::month{static_cast<unsigned>(v[1])},
                                 date::day{static_cast<unsigned>(v[2])}};
  if (!ymd.ok() || v[3] > 23 || v[4] > 59 || v[5] > 60) {
    return false; // let the general parser produce the message
  }
  out = std::chrono::duration_cast<std::chrono::seconds>(date::sys_days{ymd}.time_since_epoch()).count() + v[3] * 3600 +
        v[4] * 60 + v[5];
  return true;
}

} // namespace

static Result<std::int64_t> parse_time_unchecked(const std::string& text);

// The value as shown in a message: quoted and cut, so that a megabyte of garbage does not
// become a megabyte of error message.
static std::string
shown(const std::string& text)
{
  return "'" + (text.size() > 60 ? text.substr(0, 60) + "..." : text) + "'";
}

Result<std::int64_t>
parse_time(const std::string& text)
{
  auto parsed = parse_time_unchecked(text);
  if (!parsed) {
    return parsed;
  }
  // Before 1900 is a typo or a placeholder in order data (0000-01-01), never a purchase.
  if (*parsed < -2208988800) {
    return Result<std::int64_t>::failure(shown(text) + " is before 1900");
  }
  // Offsets beyond ±18:00 do not exist.
  if (text.size() > 19 && text.back() != 'Z' && text.back() != 'z') {
    // The last sign, by hand: find_last_of looks each character up in the set.
    auto sign = std::string::npos;
    for (auto k = text.size(); k-- > 0;) {
      if (text[k] == '+' || text[k] == '-') {
        sign = k;
        break;
      }
    }
    if (sign != std::string::npos && sign >= 19 && text.size() - sign == 6 && text[sign + 3] == ':') {
      const int hours = std::atoi(text.substr(sign + 1, 2).c_str());
      const int minutes = std::atoi(text.substr(sign + 4, 2).c_str());
      if (hours > 18 || minutes > 59) {
        return Result<std::int64_t>::failure(shown(text) + " has an impossible UTC offset");
      }
    }
  }
  return parsed;
}

static Result<std::int64_t>
parse_time_unchecked(const std::string& text)
{
  using namespace std::chrono;
  if (std::int64_t fast = 0; parse_canonical(text, fast)) {
    return fast;
  }
  if (text.empty()) {
    return Result<std::int64_t>::failure("empty time");
  }
  if (text.size() == 10) {
    std::istringstream in(text);
    date::sys_days day;
    in >> date::parse("%F", day);
    if (!in.fail() && in.peek() == EOF) {
      return static_cast<std::int64_t>(duration_cast<seconds>(day.time_since_epoch()).count());
    }
    return Result<std::int64_t>::failure(shown(text) + " is not a date (YYYY-MM-DD)");
  }
  std::string normal = text;
  if (normal.size() > 10 && normal[10] == ' ') {
    normal[10] = 'T';
  }
  if (!normal.empty() && (normal.back() == 'Z' || normal.back() == 'z')) {
    normal.back() = '+';
    normal += "00:00";
  }
  std::istringstream in(normal);
  date::sys_time<milliseconds> time;
  in >> date::parse("%FT%T%Ez", time);
  if (in.fail() || in.peek() != EOF) {
    return Result<std::int64_t>::failure(
      shown(text) + " is not an ISO 8601 time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS with Z or an offset)");
  }
  return static_cast<std::int64_t>(floor<seconds>(time).time_since_epoch().count());
}

Result<bool>
parse_bool(const std::string& text)
{
  std::string lower;
  for (char c : text) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (lower == "true" || lower == "yes" || lower == "1") {
    return true;
  }
  if (lower == "false" || lower == "no" || lower == "0") {
    return false;
  }
  return Result<bool>::failure(shown(text) + " is not a boolean (true/false, yes/no, 1/0)");
}

Result<std::int64_t>
parse_amount(const std::string& text)
{
  // Digits, an optional point and up to four decimals: no signs, exponents or separators.
  std::size_t i = 0;
  std::int64_t units = 0;
  std::size_t digits = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++digits) {
    if (digits >= 12) {
      return Result<std::int64_t>::failure("amount " + shown(text) + " is implausibly large");
    }
    units = units * 10 + (text[i] - '0');
  }
  std::int64_t fraction = 0; // in 1/10000
  std::size_t decimals = 0;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (++decimals > 4) {
        return Result<std::int64_t>::failure("amount " + shown(text) + " has more than 4 decimals");
      }
      fraction = fraction * 10 + (text[i] - '0');
    }
    for (std::size_t k = decimals; k < 4; ++k) {
      fraction *= 10;
    }
  }
  if (text.empty() || i != text.size() || (digits == 0 && decimals == 0)) {
    if (!text.empty() && text[0] == '-') {
      return Result<std::int64_t>::failure("amount " + shown(text) + " is negative; refunds are not orders");
    }
    return Result<std::int64_t>::failure("amount " + shown(text) + " is not a number like 19.99");
  }
  const std::int64_t cents = units * 100 + (fraction + 50) / 100;
  if (cents > 100'000'000'00) {
    return Result<std::int64_t>::failure("amount " + shown(text) + " is implausibly large (over 100,000,000)");
  }
  return cents;
}

std::string
format_time(std::int64_t seconds)
{
  // Calendar arithmetic and snprintf: date::format goes through a stream and a locale,
  // which showed up in the profile of timelines with millions of lines.
  const auto day = date::floor<date::days>(date::sys_seconds{std::chrono::seconds{seconds}});
  const date::year_month_day ymd{day};
  const auto in_day = seconds - std::chrono::duration_cast<std::chrono::seconds>(day.time_since_epoch()).count();
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(in_day / 3600),
                static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60));
  return buffer;
}

std::string
format_date(std::int64_t seconds)
{
  return format_time(seconds).substr(0, 10);
}

std::string
json_escaped(const std::string& text)
{
  const auto quoted = boost::json::serialize(boost::json::string(text));
  return quoted.substr(1, quoted.size() - 2);
}

} // namespace cvmd
