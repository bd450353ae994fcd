#include "engine/adaptive_split.hpp"

#include "engine/ab_stats.hpp"

#include <algorithm>

namespace cvmd {

double
AdaptiveSplits::floor(std::size_t variants)
{
  return variants == 0 ? 0 : std::min(0.05, 0.5 / static_cast<double>(variants));
}

void
AdaptiveSplits::add_history(const std::string& scenario, const std::string& split, const std::string& variant,
                            bool success)
{
  auto& s = m_splits[{scenario, split}];
  auto& c = s.variants[variant];
  c.assigned += 1;
  c.successes += success ? 1 : 0;
  s.changes += success ? 2 : 1;
}

void
AdaptiveSplits::assigned(const std::string& scenario, const std::string& split, const std::string& variant)
{
  auto& s = m_splits[{scenario, split}];
  s.variants[variant].assigned += 1;
  s.changes += 1;
}

void
AdaptiveSplits::succeeded(const std::string& scenario, const std::string& split, const std::string& variant)
{
  auto& s = m_splits[{scenario, split}];
  s.variants[variant].successes += 1;
  s.changes += 1;
}

SplitChoice
AdaptiveSplits::choose(const std::string& scenario, const dsl::Step& step, double bucket)
{
  auto& s = m_splits[{scenario, step.split_name}];
  const auto& variants = step.variants;
  bool warm = true;
  for (const auto& v : variants) {
    // A 0% variant gets no one by its weight: its warm-up is over from the start.
    warm = warm && (v.weight <= 0 || s.variants[v.name].assigned >= step.warmup);
  }
  std::vector<double> shares;
  if (!warm) {
    for (const auto& v : variants) {
      shares.push_back(v.weight / 100);
    }
  } else {
    // The posteriors move slowly once there is data: worked out again after every 1% more
    // assignments and successes (quadrature per arm is not free at every assignment).
    if (s.probabilities.size() != variants.size() || s.changes >= s.changes_at_estimate * 1.01 + 1) {
      // A variant written at 0% takes no one, adaptive or not.
      std::vector<std::pair<double, double>> arms;
      for (const auto& v : variants) {
        if (v.weight > 0) {
          const auto& c = s.variants[v.name];
          arms.emplace_back(c.successes, c.assigned);
        }
      }
      const auto best = stats::probability_best(arms);
      const double least = floor(arms.size());
      s.probabilities.clear();
      std::size_t k = 0;
      for (const auto& v : variants) {
        s.probabilities.push_back(
          v.weight > 0 ? least + (1 - least * static_cast<double>(arms.size())) * best[k++] : 0.0);
      }
      s.changes_at_estimate = s.changes;
    }
    shares = s.probabilities;
  }
  double upper = 0;
  const double at = bucket / 100;
  std::size_t last = 0; // the last variant that can be chosen at all (rounding at the very top)
  for (std::size_t k = 0; k < variants.size(); ++k) {
    if (shares[k] <= 0) {
      continue;
    }
    last = k;
    upper += shares[k];
    if (at < upper) {
      return {&variants[k], shares[k], warm};
    }
  }
  return {&variants[last], shares[last], warm};
}

const dsl::Step*
optimized_split(const dsl::Scenario& scenario, const std::string& variant, dsl::Step::Optimize metric)
{
  if (variant.empty() || variant == "holdout") {
    return nullptr;
  }
  for (const auto& step : scenario.steps) {
    if (step.kind == dsl::Step::Kind::split && step.optimize == metric &&
        std::any_of(step.variants.begin(), step.variants.end(), [&](const auto& v) { return v.name == variant; })) {
      return &step;
    }
  }
  return nullptr;
}

} // namespace cvmd
