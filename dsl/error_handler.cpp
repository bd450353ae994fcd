#include "error_handler.hpp"

#include "grammar.hpp"
#include "keywords.hpp"

#include <cctype>
#include <cstdio>

namespace cvmd::dsl::parser {

ErrorHandler::ErrorHandler(const SourceFile& source, Diagnostics& diagnostics, PositionTable& positions)
  : m_source(source),
    m_diagnostics(diagnostics),
    m_positions(positions)
{
}

ErrorHandler::iterator
ErrorHandler::skip_blanks(iterator it) const
{
  const auto end = m_source.text().end();
  while (it != end) {
    if (*it == ' ' || *it == '\t' || *it == '\r' || *it == '\n' || *it == '\f' || *it == '\v') {
      ++it;
    } else if (*it == '#') {
      while (it != end && *it != '\n') {
        ++it;
      }
    } else {
      break;
    }
  }
  return it;
}

std::size_t
ErrorHandler::offset(iterator it) const
{
  return static_cast<std::size_t>(it - m_source.text().begin());
}

namespace {

bool
is_word_char(char c)
{
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

std::string
word_at(const std::string& text, std::size_t offset)
{
  auto end = offset;
  while (end < text.size() && is_word_char(text[end])) {
    ++end;
  }
  return text.substr(offset, end - offset);
}

} // namespace

std::string
describe_token(const std::string& text, std::size_t offset)
{
  if (offset >= text.size()) {
    return "end of file";
  }
  const char c = text[offset];
  if (c == '"') {
    return "a string";
  }
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "byte 0x%02x", static_cast<unsigned char>(c));
    return buffer;
  }
  if (is_word_char(c)) {
    auto end = offset;
    while (end < text.size() && is_word_char(text[end]) && end - offset < 40) {
      ++end;
    }
    return "'" + text.substr(offset, end - offset) + "'";
  }
  auto end = offset + 1;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    ++end;
  }
  return "'" + text.substr(offset, end - offset) + "'";
}

ErrorHandler::iterator
ErrorHandler::end_of_previous_token(iterator it) const
{
  const auto begin = m_source.text().begin();
  while (it != begin && std::isspace(static_cast<unsigned char>(*std::prev(it)))) {
    --it;
  }
  // Landed at the end of a `# comment`: step back to the code before it.
  auto line_start = it;
  while (line_start != begin && *std::prev(line_start) != '\n') {
    --line_start;
  }
  bool in_string = false;
  for (auto c = line_start; c != it; ++c) {
    if (*c == '\\' && in_string && std::next(c) != it) {
      ++c; // an escaped character, perhaps a quote
    } else if (*c == '"') {
      in_string = !in_string;
    } else if (*c == '#' && !in_string) {
      it = c;
      while (it != line_start && std::isspace(static_cast<unsigned char>(*std::prev(it)))) {
        --it;
      }
      break;
    }
  }
  return it;
}

// `if once then`: say why a word that looks like a name is not accepted as one.
bool
ErrorHandler::names_keyword(const std::string& what, iterator token, bool crossed_line) const
{
  const bool wants_name = what.rfind("a ", 0) == 0 || what.rfind("an ", 0) == 0;
  return wants_name && !crossed_line && is_reserved_word(word_at(m_source.text(), offset(token)));
}

void
ErrorHandler::report_expected(iterator where, const std::string& what)
{
  const auto token = skip_blanks(where);
  auto at = token;
  // When the construct stops at the end of a line (`after 3` and then `}` below), what is
  // missing belongs right after the last token, not at the closing brace further down.
  const auto previous = end_of_previous_token(token);
  const bool crossed_line = std::string(previous, token).find('\n') != std::string::npos;
  // A keyword on the next line starts the next construct; a name there is the culprit.
  if (crossed_line && (token == m_source.text().end() || !is_word_char(*token) ||
                       is_reserved_word(word_at(m_source.text(), offset(token))))) {
    at = previous;
  }
  // A leading '!' marks a complete message from a primitive parser (an unterminated string).
  std::string message = !what.empty() && what[0] == '!'
                          ? what.substr(1)
                          : "expected " + what + ", found " + describe_token(m_source.text(), offset(token)) +
                              (names_keyword(what, token, crossed_line) ? " (a keyword, not a name)" : "");
  m_diagnostics.report(m_source, offset(at), offset(at), Severity::error, std::move(message));
}

void
ErrorHandler::report_at(iterator where, std::string message)
{
  const auto at = skip_blanks(where);
  m_diagnostics.report(m_source, offset(at), offset(at), Severity::error, std::move(message));
}

} // namespace cvmd::dsl::parser
