#include "engine/segment_history.hpp"

#include <date/date.h>

#include <algorithm>
#include <map>
#include <set>

namespace cvmd {

namespace {

const std::vector<std::string>&
natural_order(const std::string& dimension)
{
  static const std::vector<std::string> lifecycle = {"prospect", "new", "active", "lapsing", "inactive"};
  static const std::vector<std::string> rfm = {
    "champions",      "loyal",   "potential_loyalist", "new",         "promising", "need_attention",
    "about_to_sleep", "at_risk", "cant_lose",          "hibernating", "lost"};
  static const std::vector<std::string> tiers = {"high", "medium", "low"};
  static const std::vector<std::string> none;
  return dimension == "lifecycle"     ? lifecycle
         : dimension == "rfm_segment" ? rfm
         : dimension == "value_tier"  ? tiers
                                      : none;
}

// Segments in their natural order first, then any others by name.
std::vector<std::string>
ordered(const std::string& dimension, const std::set<std::string>& seen)
{
  std::vector<std::string> out;
  for (const auto& s : natural_order(dimension)) {
    if (seen.count(s)) {
      out.push_back(s);
    }
  }
  for (const auto& s : seen) {
    if (std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(s);
    }
  }
  return out;
}

dsl::AttrId
attr(const char* name)
{
  return static_cast<dsl::AttrId>(*dsl::find_attribute(name));
}

date::sys_days
day_of(std::int64_t at)
{
  return date::floor<date::days>(date::sys_seconds{std::chrono::seconds{at}});
}

// The last second of the month that holds `at`.
std::int64_t
month_end(std::int64_t at)
{
  const date::year_month_day ymd{day_of(at)};
  const auto next = date::sys_days{(ymd.year() / ymd.month() / 1) + date::months{1}};
  return std::chrono::duration_cast<std::chrono::seconds>(next.time_since_epoch()).count() - 1;
}

int
month_index(std::int64_t at)
{
  const date::year_month_day ymd{day_of(at)};
  return static_cast<int>(ymd.year()) * 12 + static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
}

} // namespace

CustomerState
segment_snapshot(const Store& store, const MetricsConfig& metrics, std::int64_t at)
{
  auto m = metrics;
  m.predict_clv = false; // sizes and stages need no model fits
  return CustomerState::build(store, at, m);
}

bool
is_segment_dimension(const std::string& name)
{
  return name == "lifecycle" || name == "rfm_segment" || name == "value_tier";
}

std::string
month_text(std::int64_t at)
{
  return date::format("%Y-%m", day_of(at));
}

SegmentSizes
segment_sizes(const Store& store, const MetricsConfig& metrics, const std::string& dimension, std::int64_t from,
              std::int64_t to)
{
  SegmentSizes out;
  out.dimension = dimension;
  for (auto t = month_end(from); t < to && out.dates.size() < 35; t = month_end(t + 1)) {
    out.dates.push_back(t);
  }
  out.dates.push_back(to);
  std::vector<SegmentSizes> per_date;
  std::set<std::string> seen;
  for (const auto t : out.dates) {
    per_date.push_back(segment_sizes(segment_snapshot(store, metrics, t), dimension));
    seen.insert(per_date.back().segments.begin(), per_date.back().segments.end());
  }
  out.segments = ordered(dimension, seen);
  for (const auto& one : per_date) {
    auto& counts = out.counts.emplace_back();
    auto& cents = out.revenue_cents.emplace_back();
    for (const auto& s : out.segments) {
      const auto at = std::find(one.segments.begin(), one.segments.end(), s);
      const auto k = static_cast<std::size_t>(at - one.segments.begin());
      counts.push_back(at == one.segments.end() ? 0 : one.counts[0][k]);
      cents.push_back(at == one.segments.end() ? 0 : one.revenue_cents[0][k]);
    }
  }
  return out;
}

SegmentSizes
segment_sizes(const CustomerState& state, const std::string& dimension)
{
  SegmentSizes out;
  out.dimension = dimension;
  out.dates.push_back(state.at());
  const auto dim = attr(dimension.c_str());
  const auto revenue = attr("revenue");
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> sizes;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto value = state.text(dim, i);
    if (value.empty()) {
      continue;
    }
    auto& [count, cents] = sizes[std::string(value)];
    ++count;
    cents += std::llround(state.number(revenue, i) * 100);
  }
  for (const auto& [name, size] : sizes) {
    seen.insert(name);
  }
  out.segments = ordered(dimension, seen);
  auto& counts = out.counts.emplace_back();
  auto& cents = out.revenue_cents.emplace_back();
  for (const auto& s : out.segments) {
    counts.push_back(sizes[s].first);
    cents.push_back(sizes[s].second);
  }
  return out;
}

Migration
migration(const Store& store, const MetricsConfig& metrics, const std::string& dimension, std::int64_t from,
          std::int64_t to)
{
  return migration(segment_snapshot(store, metrics, from), segment_snapshot(store, metrics, to), dimension);
}

Migration
migration(const CustomerState& before, const CustomerState& after, const std::string& dimension)
{
  Migration out;
  out.dimension = dimension;
  out.from = before.at();
  out.to = after.at();
  const auto dim = attr(dimension.c_str());
  static const std::string none = "(none)";
  std::map<std::pair<std::string, std::string>, std::int64_t> moves;
  std::set<std::string> seen;
  for (std::size_t j = 0; j < after.size(); ++j) {
    const auto i = before.index_of(after.id(j));
    const std::string a = i ? std::string(before.text(dim, *i)) : std::string();
    const std::string b(after.text(dim, j));
    const auto& from_segment = a.empty() ? none : a;
    const auto& to_segment = b.empty() ? none : b;
    if (from_segment == none && to_segment == none) {
      continue;
    }
    ++moves[{from_segment, to_segment}];
    seen.insert(from_segment);
    seen.insert(to_segment);
  }
  seen.erase(none);
  out.segments = ordered(dimension, seen);
  out.segments.push_back(none);
  const auto n = out.segments.size();
  out.counts.assign(n, std::vector<std::int64_t>(n, 0));
  for (const auto& [move, count] : moves) {
    const auto row = std::find(out.segments.begin(), out.segments.end(), move.first) - out.segments.begin();
    const auto col = std::find(out.segments.begin(), out.segments.end(), move.second) - out.segments.begin();
    out.counts[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)] = count;
  }
  return out;
}

Cohorts
cohort_retention(const Store& store, std::int64_t at, std::size_t max_cohorts, std::size_t max_months)
{
  // Per customer: the month of the first order and the months with orders after it.
  std::map<int, std::pair<std::int64_t, std::vector<std::int64_t>>> cohorts; // month -> (size, active per offset)
  std::string current;
  int first = 0;
  std::set<int> months;
  const auto flush = [&] {
    if (current.empty()) {
      return;
    }
    auto& [size, active] = cohorts[first];
    ++size;
    for (const int m : months) {
      const auto offset = static_cast<std::size_t>(m - first);
      if (active.size() <= offset) {
        active.resize(offset + 1, 0);
      }
      ++active[offset];
    }
  };
  store.for_each_order(at, [&](const Purchase& p) {
    if (p.customer_id != current) {
      flush();
      current = p.customer_id;
      first = month_index(p.ordered_at);
      months.clear();
    }
    months.insert(month_index(p.ordered_at));
  });
  flush();
  Cohorts out;
  const int last = month_index(at);
  auto start = cohorts.begin();
  if (cohorts.size() > max_cohorts) {
    std::advance(start, static_cast<std::ptrdiff_t>(cohorts.size() - max_cohorts));
  }
  for (auto it = start; it != cohorts.end(); ++it) {
    const auto& [month, data] = *it;
    const int year = month / 12;
    char name[16];
    std::snprintf(name, sizeof name, "%04d-%02d", year, month % 12 + 1);
    out.months.push_back(name);
    out.sizes.push_back(data.first);
    auto& row = out.retained.emplace_back();
    for (std::size_t k = 0; k < max_months && month + static_cast<int>(k) <= last; ++k) {
      const auto active = k < data.second.size() ? data.second[k] : 0;
      row.push_back(static_cast<double>(active) / static_cast<double>(data.first));
    }
  }
  return out;
}

} // namespace cvmd
