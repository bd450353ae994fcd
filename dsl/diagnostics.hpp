#pragma once
// Compiler-style diagnostics: FILE:LINE:COL: severity: message, then the line and a caret.

#include <cstddef>
#include <string>
#include <vector>

namespace cvmd::dsl {

class SourceFile;

enum class Severity { error, warning, note };

const char* to_string(Severity severity);

struct Diagnostic
{
  Severity severity = Severity::error;
  std::string file;
  int line = 0;   // 0: about the whole file
  int column = 0; // 1-based characters
  int length = 1; // characters to underline
  std::string message;
  std::string source_line; // copy, so that a diagnostic outlives its file
  std::vector<Diagnostic> notes;
};

class Diagnostics
{
public:
  Diagnostic& report(const SourceFile& source,
                     std::size_t begin,
                     std::size_t end,
                     Severity severity,
                     std::string message);
  Diagnostic& report_file(const std::string& file, Severity severity, std::string message);
  static Diagnostic make(const SourceFile& source,
                         std::size_t begin,
                         std::size_t end,
                         Severity severity,
                         std::string message);

  const std::vector<Diagnostic>& all() const { return m_items; }
  std::size_t error_count() const { return m_errors; }
  std::size_t warning_count() const { return m_warnings; }
  bool has_errors() const { return error_count() > 0; }
  // Orders by file, line and column, keeping the order of reports at one place.
  void sort();

private:
  Diagnostic& add(Diagnostic d);

  std::vector<Diagnostic> m_items;
  std::size_t m_errors = 0;
  std::size_t m_warnings = 0;
};

std::string format_text(const Diagnostic& diagnostic, bool with_source = true);
std::string format_json(const std::vector<Diagnostic>& diagnostics);

} // namespace cvmd::dsl
