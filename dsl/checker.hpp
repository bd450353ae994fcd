#pragma once
// Semantic checks over parsed files: names, types, templates, settings, splits, and the
// warnings a careful reviewer would give. Reports through the same Diagnostics as the parser.

#include "diagnostics.hpp"
#include "parser.hpp"
#include "symbols.hpp"
#include "templates.hpp"

#include <vector>

namespace cvmd::dsl {

// Fills `symbols` and reports problems. `templates` may be unloaded (no folder found):
// then every send is reported as an unknown template with a hint.
void check(const std::vector<ParsedFile>& files,
           const TemplateCatalog& templates,
           Symbols& symbols,
           Diagnostics& diagnostics);

// Seconds in a duration as written (`3 days`).
std::int64_t duration_seconds(const ast::Duration& duration);

} // namespace cvmd::dsl
