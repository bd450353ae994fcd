#pragma once
// How the customer base moves: segment sizes at month ends, the migration between two
// dates, and monthly cohorts' retention. Each point in time is a snapshot built as of that
// moment (engine/customer_state), so the numbers are those `cvmd segments --at` shows.

#include "engine/customer_state.hpp"
#include "engine/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cvmd {

// The dimensions a report can follow: lifecycle, rfm_segment, value_tier.
bool is_segment_dimension(const std::string& name);

struct SegmentSizes
{
  std::string dimension;
  std::vector<std::int64_t> dates;                      // end of each month (the last one: `to` itself)
  std::vector<std::string> segments;                    // in the dimension's natural order
  std::vector<std::vector<std::int64_t>> counts;        // [date][segment]
  std::vector<std::vector<std::int64_t>> revenue_cents; // [date][segment], lifetime revenue at the date
};

// Month ends from `from` to `to` (at most 36 points; `to` is the last).
SegmentSizes segment_sizes(const Store& store, const MetricsConfig& metrics, const std::string& dimension,
                           std::int64_t from, std::int64_t to);

struct Migration
{
  std::string dimension;
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::vector<std::string> segments;             // rows and columns; "(none)" for customers not there yet
  std::vector<std::vector<std::int64_t>> counts; // [segment at `from`][segment at `to`]
};

Migration migration(const Store& store, const MetricsConfig& metrics, const std::string& dimension, std::int64_t from,
                    std::int64_t to);
// The same from two snapshots already built (a page that shows several things of them).
Migration migration(const CustomerState& before, const CustomerState& after, const std::string& dimension);

// Sizes and revenue of one snapshot's segments (one date).
SegmentSizes segment_sizes(const CustomerState& state, const std::string& dimension);

// A snapshot for segments and stages: no model fits.
CustomerState segment_snapshot(const Store& store, const MetricsConfig& metrics, std::int64_t at);

struct Cohorts
{
  std::vector<std::string> months;                          // YYYY-MM of the first order
  std::vector<std::int64_t> sizes;                          // customers in each
  std::vector<std::vector<std::optional<double>>> retained; // [cohort][months since]: share who ordered then
};

// The last `max_cohorts` cohorts up to `at`, each followed for up to `max_months` months.
Cohorts cohort_retention(const Store& store, std::int64_t at, std::size_t max_cohorts = 12,
                         std::size_t max_months = 12);

std::string month_text(std::int64_t at);

} // namespace cvmd
