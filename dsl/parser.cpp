#include "parser.hpp"

#include "config.hpp"
#include "grammar.hpp"
#include "keywords.hpp"

#include <cctype>

namespace cvmd::dsl {

std::size_t
ParsedFile::begin_of(const boost::spirit::x3::position_tagged& node) const
{
  return node.id_first >= 0 ? positions.at(static_cast<std::size_t>(node.id_first)) : 0;
}

std::size_t
ParsedFile::end_of(const boost::spirit::x3::position_tagged& node) const
{
  return node.id_last >= 0 ? positions.at(static_cast<std::size_t>(node.id_last)) : 0;
}

namespace {

// The start of the next line whose first word begins a declaration, or the end.
parser::iterator_type
next_declaration(parser::iterator_type it, parser::iterator_type end)
{
  while (it != end) {
    while (it != end && *it != '\n') {
      ++it;
    }
    if (it == end) {
      break;
    }
    ++it;
    auto word = it;
    while (word != end && (*word == ' ' || *word == '\t' || *word == '\r')) {
      ++word;
    }
    if (starts_declaration(std::string_view(word, end))) {
      return word;
    }
  }
  return end;
}

void
remember_broken_name(parser::iterator_type it, parser::iterator_type end, std::vector<std::string>& names)
{
  if (!starts_declaration(std::string_view(it, end))) {
    return;
  }
  while (it != end && std::isalpha(static_cast<unsigned char>(*it))) {
    ++it;
  }
  while (it != end && (*it == ' ' || *it == '\t')) {
    ++it;
  }
  auto name_end = it;
  while (name_end != end && (std::isalnum(static_cast<unsigned char>(*name_end)) || *name_end == '_')) {
    ++name_end;
  }
  if (name_end != it) {
    names.push_back(to_lower(std::string(it, name_end)));
  }
}

} // namespace

ParsedFile
parse_file(const SourceFile& source, Diagnostics& diagnostics)
{
  namespace x3 = boost::spirit::x3;
  ParsedFile parsed;
  parsed.source = &source;

  const auto& text = source.text();
  if (const auto bad = find_invalid_utf8(text); bad != std::string::npos) {
    diagnostics.report(source, bad, bad, Severity::error,
                       "invalid UTF-8: scenario files must be saved as UTF-8");
    return parsed;
  }

  parsed.positions.reserve(text.size() / 2); // about one node boundary every other byte
  parser::ErrorHandler handler(source, diagnostics, parsed.positions);
  const auto grammar = x3::with<parser::error_handler_tag>(std::ref(handler))[declaration()];

  auto it = text.begin() + static_cast<std::ptrdiff_t>(source.content_start());
  const auto end = text.end();
  while (true) {
    it = handler.skip_blanks(it);
    if (it == end) {
      break;
    }
    const auto start = it;
    const auto errors_before = diagnostics.error_count();
    ast::Declaration declaration;
    bool ok = false;
    try {
      ok = x3::phrase_parse(it, end, grammar, parser::skipper, declaration);
    } catch (const x3::expectation_failure<parser::iterator_type>& failure) {
      handler.report_expected(failure.where(), failure.which());
    }
    if (ok) {
      parsed.declarations.push_back(std::move(declaration));
      continue;
    }
    if (diagnostics.error_count() == errors_before) {
      handler.report_expected(start, "'segment', 'rule' or 'scenario'");
    }
    remember_broken_name(start, end, parsed.broken_names);
    it = next_declaration(start, end);
  }
  return parsed;
}

} // namespace cvmd::dsl
