#pragma once
// When a state-triggered condition can change its value by time alone.

#include "dsl/program.hpp"
#include "engine/customer_state.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace cvmd {

// Moments, after a customer's last or first order, at which a time-dependent condition
// can change its value: where days_since_* crosses a constant of the condition or a
// lifecycle threshold, and where `ordered within D` runs out. Checking a customer at these
// moments finds the exact moment a condition turns true without a nightly batch.
struct TimeTriggers
{
  std::vector<std::int64_t> after_last;  // seconds after the last order
  std::vector<std::int64_t> after_first; // seconds after the first order
  bool daily = false;    // a comparison between two attributes: check every day instead
  bool rankings = false; // reads scores, RFM segments, VIP or value tiers: changes on refreshes

  void collect(const dsl::Condition& c, const dsl::Program& program, const MetricsConfig& config, int depth = 0);
  void finish(); // sorts and removes repeats
  // The first trigger moment strictly after t, or nullopt.
  std::optional<std::int64_t> next_after(std::int64_t t, std::int64_t first, std::int64_t last) const;

private:
  void add_days(std::vector<std::int64_t>& to, double days);
};

} // namespace cvmd
