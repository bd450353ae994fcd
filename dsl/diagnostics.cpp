#include "diagnostics.hpp"

#include "source.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace cvmd::dsl {

const char*
to_string(Severity severity)
{
  switch (severity) {
  case Severity::error:
    return "error";
  case Severity::warning:
    return "warning";
  case Severity::note:
    return "note";
  }
  return "error";
}

Diagnostic
Diagnostics::make(const SourceFile& source,
                  std::size_t begin,
                  std::size_t end,
                  Severity severity,
                  std::string message)
{
  Diagnostic d;
  d.severity = severity;
  d.file = source.path();
  const auto position = source.position_of(begin);
  d.line = position.line;
  d.column = position.column;
  d.source_line = std::string(source.line_text(position.line));
  if (end > begin) {
    const auto end_position = source.position_of(end);
    d.length = end_position.line == position.line
                 ? std::max(1, end_position.column - position.column)
                 : std::max(1, static_cast<int>(count_characters(d.source_line)) - position.column + 1);
  }
  d.message = std::move(message);
  return d;
}

Diagnostic&
Diagnostics::report(const SourceFile& source,
                    std::size_t begin,
                    std::size_t end,
                    Severity severity,
                    std::string message)
{
  return add(make(source, begin, end, severity, std::move(message)));
}

Diagnostic&
Diagnostics::report_file(const std::string& file, Severity severity, std::string message)
{
  Diagnostic d;
  d.severity = severity;
  d.file = file;
  d.message = std::move(message);
  return add(std::move(d));
}

Diagnostic&
Diagnostics::add(Diagnostic d)
{
  m_errors += d.severity == Severity::error ? 1 : 0;
  m_warnings += d.severity == Severity::warning ? 1 : 0;
  m_items.push_back(std::move(d));
  return m_items.back();
}

void
Diagnostics::sort()
{
  std::stable_sort(m_items.begin(), m_items.end(), [](const auto& a, const auto& b) {
    return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
  });
}

namespace {

void
append_one(std::string& out, const Diagnostic& d, bool with_source)
{
  out += d.file;
  if (d.line > 0) {
    out += ':' + std::to_string(d.line) + ':' + std::to_string(d.column);
  }
  out += ": ";
  out += to_string(d.severity);
  out += ": ";
  out += d.message;
  out += '\n';
  if (!with_source || d.line == 0) {
    return;
  }
  const auto number = std::to_string(d.line);
  out += ' ' + number + " | " + d.source_line + '\n';
  out += ' ' + std::string(number.size(), ' ') + " | ";
  // Reuse the line's own tabs so that the caret lines up in any terminal.
  int column = 1;
  for (std::size_t i = 0; i < d.source_line.size() && column < d.column; ++i) {
    const auto byte = static_cast<unsigned char>(d.source_line[i]);
    if ((byte & 0xC0) == 0x80) {
      continue;
    }
    out += d.source_line[i] == '\t' ? '\t' : ' ';
    ++column;
  }
  for (; column < d.column; ++column) {
    out += ' ';
  }
  out += '^';
  out += std::string(static_cast<std::size_t>(std::max(0, d.length - 1)), '~');
  out += '\n';
}

boost::json::object
to_json(const Diagnostic& d)
{
  boost::json::object o;
  o["file"] = d.file;
  o["line"] = d.line;
  o["column"] = d.column;
  o["length"] = d.length;
  o["severity"] = to_string(d.severity);
  o["message"] = d.message;
  if (!d.notes.empty()) {
    boost::json::array notes;
    for (const auto& note : d.notes) {
      notes.push_back(to_json(note));
    }
    o["notes"] = std::move(notes);
  }
  return o;
}

} // namespace

std::string
format_text(const Diagnostic& diagnostic, bool with_source)
{
  std::string out;
  append_one(out, diagnostic, with_source);
  for (const auto& note : diagnostic.notes) {
    append_one(out, note, with_source);
  }
  return out;
}

std::string
format_json(const std::vector<Diagnostic>& diagnostics)
{
  boost::json::array items;
  for (const auto& d : diagnostics) {
    items.push_back(to_json(d));
  }
  return boost::json::serialize(items);
}

} // namespace cvmd::dsl
