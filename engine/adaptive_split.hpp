#pragma once
// `split NAME optimize for clicks|conversions [warmup N]`: after each variant has had N
// recipients by the written weights, a customer lands in each variant with the posterior
// probability that it is the best (Thompson sampling, Beta(1,1) priors), never below a
// floor, so that no variant starves and inverse-propensity weights stay bounded. The
// customer's stable bucket picks within those probabilities: the same customer at the same
// counts lands in the same variant, and the probability of that assignment is logged.

#include "dsl/program.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cvmd {

struct SplitChoice
{
  const dsl::SplitVariant* variant = nullptr;
  double probability = 0; // of this assignment
  bool adaptive = false;  // false: still warming up (the written weights)
};

class AdaptiveSplits
{
public:
  // What earlier cycles assigned and what came of it (from the store).
  void add_history(const std::string& scenario, const std::string& split, const std::string& variant, bool success);

  SplitChoice choose(const std::string& scenario, const dsl::Step& split, double bucket);
  void assigned(const std::string& scenario, const std::string& split, const std::string& variant);
  void succeeded(const std::string& scenario, const std::string& split, const std::string& variant);

  // The least probability any variant keeps.
  static double floor(std::size_t variants);

private:
  struct Counts
  {
    double assigned = 0;
    double successes = 0;
  };
  struct Split
  {
    std::map<std::string, Counts> variants;
    double changes = 0;                // assignments and successes so far
    double changes_at_estimate = -1;   // when `probabilities` were last worked out
    std::vector<double> probabilities; // in the step's variant order
  };
  std::map<std::pair<std::string, std::string>, Split> m_splits;
};

// The split of `scenario` optimized for `metric` that `variant` belongs to, if any.
const dsl::Step* optimized_split(const dsl::Scenario& scenario, const std::string& variant, dsl::Step::Optimize metric);

} // namespace cvmd
