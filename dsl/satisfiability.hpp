#pragma once
// Finds conditions that can never be true (`orders > 5 and orders < 3`), for warnings.
// Conservative: anything it cannot reason about (events, profile fields compared in odd
// ways) is taken as possibly true, so a warning always means a real contradiction.

#include "ast.hpp"
#include "symbols.hpp"

#include <memory>

namespace cvmd::dsl {

class ContradictionFinder
{
public:
  explicit ContradictionFinder(const Symbols& symbols);
  ~ContradictionFinder();
  ContradictionFinder(const ContradictionFinder&) = delete;
  ContradictionFinder& operator=(const ContradictionFinder&) = delete;

  enum class Verdict { possible, never, never_unless_false };

  // `never` when `expr` can be shown never true; `never_unless_false` when it can only be
  // true while `also_false` (if given) is true too. Anything else is `possible`.
  Verdict judge(const ast::Expr& expr, const ast::Expr* also_false = nullptr);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl; // keeps each segment's normal form, computed once
};

} // namespace cvmd::dsl
