#pragma once
// Shared state of the checker's passes: where we are, and how to report there.

#include "ast.hpp"
#include "diagnostics.hpp"
#include "parser.hpp"
#include "symbols.hpp"

#include <string>

namespace cvmd::dsl {

struct CheckerContext
{
  Symbols& symbols;
  Diagnostics& diagnostics;
  const ParsedFile* file = nullptr;

  Diagnostic& report(const boost::spirit::x3::position_tagged& node, Severity severity, std::string message)
  {
    return diagnostics.report(*file->source, file->begin_of(node), file->end_of(node), severity, std::move(message));
  }
  Diagnostic& error(const boost::spirit::x3::position_tagged& node, std::string message)
  {
    return report(node, Severity::error, std::move(message));
  }
  Diagnostic& warning(const boost::spirit::x3::position_tagged& node, std::string message)
  {
    return report(node, Severity::warning, std::move(message));
  }
  Diagnostic note(const ParsedFile& where, const boost::spirit::x3::position_tagged& node, std::string message) const
  {
    return Diagnostics::make(*where.source, where.begin_of(node), where.end_of(node), Severity::note,
                             std::move(message));
  }
};

// Checks names, types and templates in a condition; marks the segments it uses.
void check_expression(CheckerContext& context, const ast::Expr& expr);
// Checks an `opened welcome`-style event (also used by `goal`).
void check_event(CheckerContext& context, const ast::EventPredicate& event);
void check_duration(CheckerContext& context, const ast::Duration& duration, const char* what);
// Marks `expr`'s segments and those they use as used.
void mark_used(const ast::Expr& expr, Symbols& symbols);
// The references in a condition (both sides of comparisons), in order.
std::vector<const ast::Reference*> references_in(const ast::Expr& expr);

} // namespace cvmd::dsl
