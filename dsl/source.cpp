#include "source.hpp"

#include <algorithm>
#include <fstream>

namespace cvmd::dsl {

SourceFile::SourceFile(std::string path, std::string text)
  : m_path(std::move(path)),
    m_text(std::move(text))
{
  // A UTF-8 byte order mark (editors on Windows write one) is not part of line 1.
  m_line_starts.push_back(has_bom() ? 3 : 0);
  for (std::size_t i = 0; i < m_text.size(); ++i) {
    if (m_text[i] == '\n') {
      m_line_starts.push_back(i + 1);
    }
  }
}

Position
SourceFile::position_of(std::size_t offset) const
{
  offset = std::clamp(offset, content_start(), m_text.size());
  auto it = std::upper_bound(m_line_starts.begin(), m_line_starts.end(), offset);
  const auto line_index = static_cast<std::size_t>(std::distance(m_line_starts.begin(), it)) - 1;
  const auto start = m_line_starts[line_index];
  const auto column =
    count_characters(std::string_view(m_text).substr(start, offset - start)) + 1;
  return {static_cast<int>(line_index) + 1, static_cast<int>(column)};
}

std::string_view
SourceFile::line_text(int line) const
{
  if (line < 1 || static_cast<std::size_t>(line) > m_line_starts.size()) {
    return {};
  }
  const auto start = m_line_starts[static_cast<std::size_t>(line) - 1];
  auto end = m_text.find('\n', start);
  if (end == std::string::npos) {
    end = m_text.size();
  }
  if (end > start && m_text[end - 1] == '\r') {
    --end;
  }
  return std::string_view(m_text).substr(start, end - start);
}

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is invalid.
std::size_t
utf8_sequence_length(std::string_view text, std::size_t i)
{
  const auto byte = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  unsigned min_value = 0;
  unsigned value = 0;
  if (byte < 0x80) {
    return 1;
  } else if ((byte & 0xE0) == 0xC0) {
    length = 2;
    min_value = 0x80;
    value = byte & 0x1F;
  } else if ((byte & 0xF0) == 0xE0) {
    length = 3;
    min_value = 0x800;
    value = byte & 0x0F;
  } else if ((byte & 0xF8) == 0xF0) {
    length = 4;
    min_value = 0x10000;
    value = byte & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) {
      return 0;
    }
    value = (value << 6) | (next & 0x3F);
  }
  if (value < min_value || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return 0;
  }
  return length;
}

} // namespace

std::optional<std::string>
read_text_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string text;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer), in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad() || !in.eof()) {
    return std::nullopt;
  }
  return text;
}

std::size_t
count_characters(std::string_view text)
{
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto length = utf8_sequence_length(text, i);
    i += length == 0 ? 1 : length;
    ++count;
  }
  return count;
}

std::size_t
find_invalid_utf8(std::string_view text)
{
  for (std::size_t i = 0; i < text.size();) {
    const auto length = utf8_sequence_length(text, i);
    if (length == 0) {
      return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

} // namespace cvmd::dsl
