#pragma once
// The policies applied when a message is due: frequency caps and quiet hours in the
// customer's time zone (config `policies:`, scenario settings override quiet hours).

#include "engine/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cvmd {

struct QuietHours
{
  int from_minute = 0; // minutes after local midnight; from > to spans midnight
  int to_minute = 0;
};

struct PolicyConfig
{
  std::optional<int> cap_max;       // policies.frequency_cap.max: messages per customer ...
  std::int64_t cap_per_seconds = 0; // ... per this window, over all scenarios
  std::optional<QuietHours> quiet_hours;
};

// "7 days", "1 week", "12 hours", "30 minutes".
Result<std::int64_t> parse_duration(const std::string& text);
// "21:00-09:00".
Result<QuietHours> parse_quiet_hours(const std::string& text);
std::string format_quiet_hours(const QuietHours& quiet);

// Whether a time zone name is known to the system's tz database.
bool known_time_zone(const std::string& name);

// The first moment at or after `t` outside the quiet hours, in the zone `time_zone`
// (an unknown zone counts as UTC). Equal to `t` when `t` is not quiet.
std::int64_t next_allowed(std::int64_t t, const QuietHours& quiet, const std::string& time_zone);

// How many of the (ascending) times lie in (t - per, t].
std::size_t count_in_window(const std::vector<std::int64_t>& times, std::int64_t t, std::int64_t per);

} // namespace cvmd
