#pragma once
// Parses one scenario file into declarations, recovering at the next top-level
// declaration after a syntax error so that one run reports every independent error.

#include "ast.hpp"
#include "diagnostics.hpp"
#include "error_handler.hpp"
#include "source.hpp"

#include <vector>

namespace cvmd::dsl {

struct ParsedFile
{
  const SourceFile* source = nullptr;
  std::vector<ast::Declaration> declarations;
  parser::PositionTable positions;
  // Names of declarations that failed to parse: references to them are not reported
  // again as unknown.
  std::vector<std::string> broken_names;

  std::size_t begin_of(const boost::spirit::x3::position_tagged& node) const;
  std::size_t end_of(const boost::spirit::x3::position_tagged& node) const;
};

ParsedFile parse_file(const SourceFile& source, Diagnostics& diagnostics);

} // namespace cvmd::dsl
