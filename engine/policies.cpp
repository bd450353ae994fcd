#include "engine/policies.hpp"

#include <date/tz.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace cvmd {

Result<std::int64_t>
parse_duration(const std::string& text)
{
  const auto fail = [&] {
    return Result<std::int64_t>::failure("'" + text + "' is not a duration like '7 days' (minutes, hours, days, weeks)");
  };
  std::int64_t n = 0;
  const auto* begin = text.data();
  const auto* end = text.data() + text.size();
  while (begin < end && *begin == ' ') {
    ++begin;
  }
  auto [rest, ec] = std::from_chars(begin, end, n);
  if (ec != std::errc() || n <= 0 || n > 100000) {
    return fail();
  }
  std::string unit(rest, end);
  unit.erase(0, unit.find_first_not_of(' '));
  unit.erase(unit.find_last_not_of(' ') + 1);
  if (unit.size() > 1 && unit.back() == 's') {
    unit.pop_back();
  }
  const std::int64_t seconds = unit == "second" ? 1 : unit == "minute" ? 60 : unit == "hour" ? 3600 : unit == "day" ? 86400 : unit == "week" ? 604800 : 0;
  if (seconds == 0) {
    return fail();
  }
  return n * seconds;
}

Result<QuietHours>
parse_quiet_hours(const std::string& text)
{
  const auto minute = [](const std::string& hhmm) -> int {
    if (hhmm.size() != 5 || hhmm[2] != ':' || !std::isdigit(static_cast<unsigned char>(hhmm[0])) ||
        !std::isdigit(static_cast<unsigned char>(hhmm[1])) || !std::isdigit(static_cast<unsigned char>(hhmm[3])) ||
        !std::isdigit(static_cast<unsigned char>(hhmm[4]))) {
      return -1;
    }
    const int h = std::stoi(hhmm.substr(0, 2));
    const int m = std::stoi(hhmm.substr(3, 2));
    return h < 24 && m < 60 ? h * 60 + m : -1;
  };
  const auto dash = text.find('-');
  const int from = dash == std::string::npos ? -1 : minute(text.substr(0, dash));
  const int to = dash == std::string::npos ? -1 : minute(text.substr(dash + 1));
  if (from < 0 || to < 0 || from == to) {
    return Result<QuietHours>::failure("'" + text + "' is not quiet hours like '21:00-09:00' (HH:MM-HH:MM, two different times)");
  }
  return QuietHours{from, to};
}

std::string
format_quiet_hours(const QuietHours& quiet)
{
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%02d:%02d-%02d:%02d", quiet.from_minute / 60, quiet.from_minute % 60,
                quiet.to_minute / 60, quiet.to_minute % 60);
  return buffer;
}

namespace {

const date::time_zone*
zone_or_null(const std::string& name)
{
  if (name.empty()) {
    return nullptr;
  }
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

bool
is_quiet(int minute, const QuietHours& q)
{
  return q.from_minute < q.to_minute ? minute >= q.from_minute && minute < q.to_minute
                                     : minute >= q.from_minute || minute < q.to_minute;
}

} // namespace

bool
known_time_zone(const std::string& name)
{
  return name == "UTC" || zone_or_null(name) != nullptr;
}

std::int64_t
next_allowed(std::int64_t t, const QuietHours& quiet, const std::string& time_zone)
{
  using namespace std::chrono;
  const auto* zone = zone_or_null(time_zone);
  const auto local_minute = [&](std::int64_t at) {
    const sys_seconds instant{seconds{at}};
    const auto offset = zone ? zone->get_info(instant).offset : seconds{0};
    const auto local = at + offset.count();
    return static_cast<int>(((local % 86400) + 86400) % 86400 / 60);
  };
  if (!is_quiet(local_minute(t), quiet)) {
    return t;
  }
  // Walk to the end of the quiet period minute by minute from the next whole minute; at
  // most a day, and exact across daylight-saving changes.
  std::int64_t at = t - ((t % 60) + 60) % 60 + 60;
  for (int i = 0; i < 24 * 60 + 1 && is_quiet(local_minute(at), quiet); ++i) {
    at += 60;
  }
  return at;
}

std::size_t
count_in_window(const std::vector<std::int64_t>& times, std::int64_t t, std::int64_t per)
{
  const auto first = std::upper_bound(times.begin(), times.end(), t - per);
  const auto last = std::upper_bound(times.begin(), times.end(), t);
  return static_cast<std::size_t>(last - first);
}

} // namespace cvmd
