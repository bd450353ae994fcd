#pragma once
// The scenario language, for the rest of cvmd: load .cvm files and templates, get
// diagnostics and, when there are no errors, the compiled Program. No Spirit in here.

#include "dsl/catalogue.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/program.hpp"
#include "dsl/templates.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cvmd::dsl {

struct SourceText
{
  std::string path;
  std::string text;
};

struct LoadResult
{
  Diagnostics diagnostics;
  std::optional<Program> program; // set when there are no errors
  std::vector<std::string> files; // the .cvm files read, in order
  std::string templates_directory; // empty when none was found
  // A problem with the request itself (missing file, unreadable folder): exit code 2.
  std::optional<std::string> usage_error;
};

// Files and folders (searched recursively for *.cvm). Templates come from
// `templates_directory` or, when empty, from a `templates/` folder beside the scenarios.
LoadResult load(const std::vector<std::string>& paths, const std::string& templates_directory = {});

// From memory: for tests, fuzzing and tools. `templates` may be unloaded.
LoadResult load_sources(const std::vector<SourceText>& sources, const TemplateCatalog& templates);

} // namespace cvmd::dsl
