#pragma once
// A loaded scenario or template file and the mapping from byte offsets to the
// line and column a person sees (columns count characters, not bytes).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cvmd::dsl {

struct Position
{
  int line = 0;   // 1-based
  int column = 0; // 1-based, in Unicode code points
};

class SourceFile
{
public:
  SourceFile(std::string path, std::string text);

  const std::string& path() const { return m_path; }
  const std::string& text() const { return m_text; }

  Position position_of(std::size_t offset) const;
  // The line without its line break (and without a CR before it).
  std::string_view line_text(int line) const;
  std::size_t line_count() const { return m_line_starts.size(); }
  bool has_bom() const { return m_text.rfind("\xEF\xBB\xBF", 0) == 0; }
  std::size_t content_start() const { return has_bom() ? 3 : 0; }

private:
  std::string m_path;
  std::string m_text;
  std::vector<std::size_t> m_line_starts;
};

// Counts code points of valid UTF-8; a stray byte counts as one character so that
// columns stay monotonic on bad input.
std::size_t count_characters(std::string_view text);

// The whole file, or nothing when it cannot be opened or read to its end.
std::optional<std::string> read_text_file(const std::string& path);

// First invalid UTF-8 sequence, or npos.
std::size_t find_invalid_utf8(std::string_view text);

} // namespace cvmd::dsl
