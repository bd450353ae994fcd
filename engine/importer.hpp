#pragma once
// `cvmd import customers|orders|events FILE`: validates every row and writes them in one
// transaction. By default one bad row rejects the whole file and nothing is written;
// with skip_bad the good rows are written and the bad ones listed.

#include "engine/result.hpp"
#include "engine/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cvmd {

enum class ImportKind { customers, orders, events };

struct ImportOptions
{
  bool skip_bad = false;
  bool progress = false;  // a progress line on standard error
  std::int64_t now = 0;   // for "in the future" and consent times
  std::size_t max_problems_listed = 100;
};

struct ImportReport
{
  std::size_t rows = 0;
  std::size_t inserted = 0;
  std::size_t unchanged = 0;
  std::size_t bad = 0;
  std::vector<std::string> problems; // FILE:LINE: reason
  bool written = false;
};

// A failure means the file could not be read at all (missing, empty, not CSV): nothing
// was written. Bad rows are in the report.
Result<ImportReport> import_file(Store& store, ImportKind kind, const std::string& path, const ImportOptions& options);

} // namespace cvmd
