#pragma once
// Shared state of the checker's passes: where we are, and how to report there.

#include "ast.hpp"
#include "diagnostics.hpp"
#include "parser.hpp"
#include "symbols.hpp"

#include <set>
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
// Where a split stands, for its `optimize for` clause: conversions need the scenario's goal.
struct SplitPlace
{
  bool in_rule = false;
  bool has_goal = false;
};
// Checks a send's template and channel; false when it has an error.
bool check_send(CheckerContext& context, const ast::Send& send);
// Checks a split's variants and weights, and that its name is new in `split_names`.
void check_split(CheckerContext& context, const ast::Split& split, std::set<std::string>& split_names,
                 const SplitPlace& place);
// Marks `expr`'s segments and those they use as used.
void mark_used(const ast::Expr& expr, Symbols& symbols);
// The references in a condition (both sides of comparisons), in order.
std::vector<const ast::Reference*> references_in(const ast::Expr& expr);

} // namespace cvmd::dsl
