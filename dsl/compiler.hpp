#pragma once
// Turns checked declarations into the evaluable Program. Call only when the checker
// found no errors.

#include "parser.hpp"
#include "program.hpp"
#include "symbols.hpp"

#include <vector>

namespace cvmd::dsl {

Program compile(const Symbols& symbols);

} // namespace cvmd::dsl
