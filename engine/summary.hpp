#pragma once
// Plain-English account of compiled scenarios, for CRM managers (`cvmd demo`,
// `cvmd check --summary`).

#include "dsl/dsl.hpp"

#include <cstdint>
#include <string>

namespace cvmd {

std::string summarize(const dsl::Program& program);

} // namespace cvmd
