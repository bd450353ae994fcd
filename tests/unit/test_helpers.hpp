#pragma once
// Small helpers shared by the unit tests.

#include "dsl/dsl.hpp"

#include <string>
#include <vector>

namespace cvmd::test {

// Templates of the golden tests, loaded from the source tree.
const dsl::TemplateCatalog& standard_templates();

// Checks one in-memory file named input.cvm.
dsl::LoadResult check_text(const std::string& text);

// Diagnostics as `input.cvm:L:C: severity: message` lines, without source lines.
std::vector<std::string> diagnostic_lines(const dsl::Diagnostics& diagnostics);

} // namespace cvmd::test
