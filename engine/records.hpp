#pragma once
// Reads an import file as records of named text fields, CSV (RFC 4180, via libcsv) or
// JSON Lines (via Boost.JSON), each with the line it starts on.

#include "engine/result.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cvmd {

struct Record
{
  std::size_t line = 0;
  std::vector<std::pair<std::string, std::string>> fields; // name, value (as text)

  const std::string* find(const std::string& name) const;
};

struct RecordSource
{
  std::string path;
  std::uintmax_t size = 0;
  // Called for each record; a record that cannot be read at all becomes a problem with
  // its line instead. Returns false when the file itself is unusable (message set).
  std::function<void(const Record&)> on_record;
  std::function<void(std::size_t line, const std::string& problem)> on_problem;
  std::function<void(std::uintmax_t bytes_read)> on_progress;
};

// JSON Lines when the name ends in .jsonl, .ndjson or .json; CSV otherwise.
Result<bool> read_records(RecordSource& source);

} // namespace cvmd
