#pragma once
// What the checker learns about declarations, shared with the compiler: which names are
// segments and scenarios, and what a reference in a condition stands for.

#include "ast.hpp"
#include "catalogue.hpp"
#include "parser.hpp"
#include "templates.hpp"

#include <map>
#include <unordered_map>
#include <set>
#include <string>
#include <vector>

namespace cvmd::dsl {

struct SegmentSymbol
{
  const ParsedFile* file = nullptr;
  const ast::Segment* declaration = nullptr;
  bool used = false;
  bool in_cycle = false;
  bool too_deep = false; // built on too many levels of other segments
  bool has_errors = false; // then it is not reasoned about, so no follow-up warnings
};

struct ScenarioSymbol
{
  const ParsedFile* file = nullptr;
  const ast::Scenario* scenario = nullptr; // one of these two
  const ast::Rule* rule = nullptr;
};

enum class ReferenceKind { unknown, user_segment, builtin_segment, attribute, profile };

struct ResolvedReference
{
  ReferenceKind kind = ReferenceKind::unknown;
  std::string lower;
  const SegmentSymbol* segment = nullptr;
  const BuiltinSegment* builtin = nullptr;
  std::size_t attribute = 0;
};

struct Symbols
{
  std::unordered_map<std::string, SegmentSymbol> segments; // by lower-case name
  std::vector<std::string> segment_order;        // declaration order
  std::vector<ScenarioSymbol> scenarios;         // declaration order, duplicates left out
  const TemplateCatalog* templates = nullptr;
  std::set<std::string> broken_names; // declarations with syntax errors
  mutable std::unordered_map<const ast::Reference*, ResolvedReference> resolved;
  std::set<std::string> profile_fields; // distinct `profile.NAME`s: their ids are 16 bits
};

ResolvedReference resolve(const std::string& text, const Symbols& symbols);
// The same, remembered per node: the checker, the contradiction finder and the compiler
// all ask about the same references.
const ResolvedReference& resolve(const ast::Reference& reference, const Symbols& symbols);

} // namespace cvmd::dsl
