#include "engine/records.hpp"

#include <boost/json.hpp>
#include <csv.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <utility>

namespace cvmd {

bool
Record::is_structured(const std::string& name) const
{
  return std::find(structured.begin(), structured.end(), name) != structured.end();
}

const std::string*
Record::find(const std::string& name) const
{
  for (const auto& [key, value] : fields) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

namespace {

// Lines from a stream in 64 KiB blocks; a line longer than max_line_bytes is kept only up
// to that length (the caller refuses it), so a binary file cannot fill the memory.
class LineReader
{
public:
  explicit LineReader(std::istream& in) : m_in(in), m_buffer(1 << 16) {}

  bool next(std::string& line)
  {
    line.clear();
    bool any = false;
    while (true) {
      if (m_pos == m_end) {
        m_in.read(m_buffer.data(), static_cast<std::streamsize>(m_buffer.size()));
        m_end = static_cast<std::size_t>(m_in.gcount());
        m_pos = 0;
        if (m_end == 0) {
          return any;
        }
      }
      any = true;
      const char* start = m_buffer.data() + m_pos;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', m_end - m_pos));
      const std::size_t length = newline ? static_cast<std::size_t>(newline - start) : m_end - m_pos;
      if (line.size() <= max_line_bytes) {
        line.append(start, std::min(length, max_line_bytes + 1 - line.size()));
      }
      m_pos += length + (newline ? 1 : 0);
      if (newline) {
        return true;
      }
    }
  }

  // The next line with its newline (one is added at the end of the file): a view into the
  // block when the whole line is there, else `storage`; valid until the next call.
  bool next_with_newline(std::string_view& line, std::string& storage)
  {
    if (m_pos == m_end) {
      m_in.read(m_buffer.data(), static_cast<std::streamsize>(m_buffer.size()));
      m_end = static_cast<std::size_t>(m_in.gcount());
      m_pos = 0;
      if (m_end == 0) {
        return false;
      }
    }
    const char* start = m_buffer.data() + m_pos;
    if (const auto* newline = static_cast<const char*>(std::memchr(start, '\n', m_end - m_pos))) {
      const auto length = static_cast<std::size_t>(newline - start) + 1;
      line = std::string_view(start, length);
      m_pos += length;
      return true;
    }
    if (!next(storage)) {
      return false;
    }
    storage += '\n';
    line = storage;
    return true;
  }

private:
  std::istream& m_in;
  std::vector<char> m_buffer;
  std::size_t m_pos = 0;
  std::size_t m_end = 0;
};

bool
ends_with(const std::string& text, const std::string& suffix)
{
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// libcsv calls back per field and per row; this fills one record in place (the names once,
// the values reuse their buffers), so a row costs no allocation once the buffers are grown.
struct CsvState
{
  RecordSource& source;
  std::size_t line = 0;     // line being fed
  std::size_t row_line = 0; // line the current row started on
  std::size_t fields = 0;   // fields of the current row so far
  std::vector<std::string> header;
  bool have_header = false;
  std::string duplicate_header;
  Record record;

  static void on_field(void* data, std::size_t size, void* state)
  {
    auto& self = *static_cast<CsvState*>(state);
    if (self.fields == 0) {
      self.row_line = self.line;
    }
    const std::string_view value(static_cast<const char*>(data), size);
    if (!self.have_header) {
      self.header.emplace_back(value);
    } else if (self.fields < self.record.fields.size()) {
      self.record.fields[self.fields].second.assign(value);
    }
    ++self.fields;
  }

  static void on_row(int, void* state)
  {
    auto& self = *static_cast<CsvState*>(state);
    const auto count = std::exchange(self.fields, 0);
    if (count == 0) {
      return;
    }
    if (!self.have_header) {
      self.have_header = true;
      static std::atomic<std::size_t> layouts{0};
      self.record.layout = ++layouts;
      for (std::size_t i = 0; i < self.header.size(); ++i) {
        self.record.fields.emplace_back(self.header[i], std::string());
        for (std::size_t k = 0; k < i; ++k) {
          if (self.header[i] == self.header[k]) {
            self.duplicate_header = self.header[i];
          }
        }
      }
      if (self.source.on_header) {
        self.source.on_header(self.header);
      }
      return;
    }
    if (count != self.header.size()) {
      self.source.on_problem(self.row_line, "expected " + std::to_string(self.header.size()) +
                                              " fields (as in the header), found " + std::to_string(count));
      return;
    }
    self.record.line = self.row_line;
    self.source.on_record(self.record);
  }
};

Result<bool>
read_csv(RecordSource& source, std::ifstream& in)
{
  csv_parser parser{};
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
    return Result<bool>::failure("cannot start the CSV parser");
  }
  struct Free
  {
    csv_parser* p;
    ~Free() { csv_free(p); }
  } free_parser{&parser};
  CsvState state{source, 0, 0, 0, {}, false, {}, {}};
  LineReader reader(in);
  std::string storage;
  std::string_view line; // with its newline
  std::uintmax_t bytes = 0;
  while (reader.next_with_newline(line, storage)) {
    ++state.line;
    bytes += line.size();
    if (line.size() > max_line_bytes + 1) {
      return Result<bool>::failure(source.path + ":" + std::to_string(state.line) + ": line longer than 1 MiB");
    }
    if (state.line == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") {
      line.remove_prefix(3);
    }
    if (csv_parse(&parser, line.data(), line.size(), CsvState::on_field, CsvState::on_row, &state) != line.size()) {
      return Result<bool>::failure(source.path + ":" + std::to_string(state.line) +
                                   ": not valid CSV: " + csv_strerror(csv_error(&parser)));
    }
    if (!state.duplicate_header.empty()) {
      return Result<bool>::failure(source.path + ":1: the column '" + state.duplicate_header + "' appears twice");
    }
    if (source.on_progress && state.line % 4096 == 0) {
      source.on_progress(bytes);
    }
  }
  if (csv_fini(&parser, CsvState::on_field, CsvState::on_row, &state) != 0) {
    return Result<bool>::failure(source.path + ":" + std::to_string(state.row_line) +
                                 ": the file ends inside a quoted field (cut off?)");
  }
  if (!state.have_header) {
    return Result<bool>::failure(source.path + ": empty file: expected a header row");
  }
  return true;
}

Result<bool>
read_json_lines(RecordSource& source, std::ifstream& in)
{
  LineReader reader(in);
  std::string line;
  std::size_t number = 0;
  std::uintmax_t bytes = 0;
  std::size_t records = 0;
  while (reader.next(line)) {
    ++number;
    bytes += line.size() + 1;
    if (line.size() > max_line_bytes) {
      return Result<bool>::failure(source.path + ":" + std::to_string(number) + ": line longer than 1 MiB");
    }
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) {
      line.erase(0, 3);
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    if (ec) {
      source.on_problem(number, "not valid JSON: " + ec.message());
      continue;
    }
    if (!value.is_object()) {
      source.on_problem(number, "each line must be a JSON object");
      continue;
    }
    Record record;
    record.line = number;
    bool duplicate = false;
    for (const auto& [key, field] : value.as_object()) {
      std::string text;
      if (field.is_string()) {
        text = std::string(field.as_string());
      } else if (field.is_int64()) {
        text = std::to_string(field.as_int64());
      } else if (field.is_uint64()) {
        text = std::to_string(field.as_uint64());
      } else if (field.is_double()) {
        char buffer[32];
        const auto end = std::to_chars(buffer, buffer + sizeof buffer, field.as_double()).ptr;
        text.assign(buffer, end); // shortest form: 19.99 stays 19.99
      } else if (!field.is_null()) {
        text = boost::json::serialize(field); // objects (properties), arrays, booleans
        record.structured.emplace_back(key);
      }
      duplicate = duplicate || record.find(std::string(key)) != nullptr;
      record.fields.emplace_back(std::string(key), std::move(text));
    }
    if (duplicate) {
      source.on_problem(number, "a key appears twice in this object");
      continue;
    }
    ++records;
    source.on_record(record);
    if (source.on_progress && number % 4096 == 0) {
      source.on_progress(bytes);
    }
  }
  if (number == 0) {
    return Result<bool>::failure(source.path + ": empty file");
  }
  return true;
}

} // namespace

Result<bool>
read_records(RecordSource& source)
{
  std::error_code ec;
  if (std::filesystem::is_directory(source.path, ec)) {
    return Result<bool>::failure(source.path + ": is a folder, not a file");
  }
  std::ifstream in(source.path, std::ios::binary);
  if (!in) {
    return Result<bool>::failure(source.path + ": cannot open the file");
  }
  source.size = std::filesystem::file_size(source.path, ec);
  const bool json =
    ends_with(source.path, ".jsonl") || ends_with(source.path, ".ndjson") || ends_with(source.path, ".json");
  auto result = json ? read_json_lines(source, in) : read_csv(source, in);
  if (result && in.bad()) {
    return Result<bool>::failure(source.path + ": read error");
  }
  return result;
}

} // namespace cvmd
