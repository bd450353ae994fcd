#include "engine/time_triggers.hpp"

#include <algorithm>
#include <cmath>

namespace cvmd {

namespace {

constexpr std::int64_t day = 86400;

} // namespace

void
TimeTriggers::add_days(std::vector<std::int64_t>& to, double days)
{
  if (std::isfinite(days) && days >= 0 && days < 100000) {
    to.push_back(static_cast<std::int64_t>(std::floor(days)) * day);
    to.push_back(static_cast<std::int64_t>(std::floor(days) + 1) * day);
    to.push_back(static_cast<std::int64_t>(std::ceil(days)) * day);
  }
}

void
TimeTriggers::collect(const dsl::Condition& c, const dsl::Program& program, const MetricsConfig& config, int depth)
{
  static const auto since_last = static_cast<dsl::AttrId>(*dsl::find_attribute("days_since_last_order"));
  static const auto since_first = static_cast<dsl::AttrId>(*dsl::find_attribute("days_since_first_order"));
  static const auto lifecycle = static_cast<dsl::AttrId>(*dsl::find_attribute("lifecycle"));
  const auto is_time = [&](dsl::AttrId a) { return a == since_last || a == since_first || a == lifecycle; };
  static const dsl::AttrId ranked[] = {
    static_cast<dsl::AttrId>(*dsl::find_attribute("r_score")),  static_cast<dsl::AttrId>(*dsl::find_attribute("f_score")),
    static_cast<dsl::AttrId>(*dsl::find_attribute("m_score")),  static_cast<dsl::AttrId>(*dsl::find_attribute("rfm")),
    static_cast<dsl::AttrId>(*dsl::find_attribute("rfm_segment")), static_cast<dsl::AttrId>(*dsl::find_attribute("vip")),
    static_cast<dsl::AttrId>(*dsl::find_attribute("value_tier"))};
  for (const auto& n : c.nodes) {
    if (n.kind != dsl::NodeKind::segment && n.kind != dsl::NodeKind::event &&
        (std::find(std::begin(ranked), std::end(ranked), n.attr) != std::end(ranked) ||
         std::find(std::begin(ranked), std::end(ranked), n.attr2) != std::end(ranked))) {
      rankings = true;
    }
    auto& to = n.attr == since_first ? after_first : after_last;
    switch (n.kind) {
    case dsl::NodeKind::compare_number:
      if (n.attr == since_last || n.attr == since_first) {
        add_days(to, n.number);
      }
      break;
    case dsl::NodeKind::in_number:
      if (n.attr == since_last || n.attr == since_first) {
        for (std::uint32_t k = 0; k < n.count; ++k) {
          add_days(to, program.numbers[n.text + k]);
        }
      }
      break;
    case dsl::NodeKind::compare_attrs:
    case dsl::NodeKind::compare_text_attrs:
      daily = daily || is_time(n.attr) || is_time(n.attr2);
      break;
    case dsl::NodeKind::event:
      if (n.event == dsl::EventKind::ordered && n.within_seconds > 0) {
        after_last.push_back(n.within_seconds + 1);
      }
      break;
    case dsl::NodeKind::segment:
      if (depth < 64) {
        collect(program.segments[n.text], program, config, depth + 1);
      }
      break;
    default:
      break;
    }
    if (n.attr == lifecycle && (n.kind == dsl::NodeKind::compare_text || n.kind == dsl::NodeKind::in_text)) {
      add_days(after_first, config.new_days);
      add_days(after_last, config.lapsing_after_days);
      add_days(after_last, config.inactive_after_days);
    }
  }
}

void
TimeTriggers::finish()
{
  for (auto* v : {&after_last, &after_first}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
}

std::optional<std::int64_t>
TimeTriggers::next_after(std::int64_t t, std::int64_t first, std::int64_t last) const
{
  std::optional<std::int64_t> best;
  const auto consider = [&](std::int64_t candidate) {
    if (candidate > t && (!best || candidate < *best)) {
      best = candidate;
    }
  };
  for (const auto offset : after_last) {
    consider(last + offset);
  }
  for (const auto offset : after_first) {
    consider(first + offset);
  }
  if (daily) {
    consider(last + ((t - last) / day + 1) * day);
  }
  return best;
}

} // namespace cvmd
