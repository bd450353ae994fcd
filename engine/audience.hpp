#pragma once
// A condition over every customer of a snapshot at once: each node of the compiled tree
// becomes a mask over the columns, in tight loops the compiler vectorises, instead of one
// tree walk per customer. Gives exactly what dsl::evaluate gives for each customer (a test
// compares them); profile fields and event predicates go through the per-customer path.

#include "dsl/program.hpp"
#include "engine/customer_state.hpp"

#include <cstdint>
#include <vector>

namespace cvmd {

// 1 for each customer (by snapshot index) the condition holds for.
std::vector<std::uint8_t> audience(const dsl::Condition& condition, const dsl::Program& program,
                                   const CustomerState& state);

} // namespace cvmd
