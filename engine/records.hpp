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
  std::vector<std::string> structured;                     // JSON Lines: fields that held an object, array or boolean
  // Nonzero: every record with this value has the same field names in the same places (a
  // CSV file's rows, named by its header), so a reader may look the names up once.
  std::size_t layout = 0;

  const std::string* find(const std::string& name) const;
  bool is_structured(const std::string& name) const;
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
  // CSV: the header's names, once, before any record (also when no row follows).
  std::function<void(const std::vector<std::string>& names)> on_header;
};

// Longer lines are refused: no import row needs a megabyte, and a binary file would
// otherwise be read as one endless line.
constexpr std::size_t max_line_bytes = 1 << 20;

// JSON Lines when the name ends in .jsonl, .ndjson or .json; CSV otherwise.
Result<bool> read_records(RecordSource& source);

} // namespace cvmd
