#pragma once
// Stable assignment for holdouts and splits. A customer's bucket is a number in [0, 100)
// from XXH64 (seed 0) over "customer_id \x1f scenario_id \x1f name", so it depends on
// nothing else: a re-run, a restart or another machine assigns exactly the same way.
// Holdouts use the name "holdout"; splits use their split name.

#include "dsl/program.hpp"

#include <string>
#include <string_view>

namespace cvmd {

double assignment_bucket(std::string_view customer_id, std::string_view scenario_id, std::string_view name);

// The variant whose cumulative weight range holds the bucket (variants in file order; the
// checker ensures the weights add up to 100).
const dsl::SplitVariant& choose_variant(const dsl::Step& split, double bucket);

} // namespace cvmd
