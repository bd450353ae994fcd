#pragma once
// Ties the grammar to diagnostics: records where every position_tagged node starts and
// ends (after skipped blanks, so that carets point at tokens: Spirit issue 712), and turns
// an expectation failure into `expected X, found Y` at the right character.

#include "diagnostics.hpp"
#include "source.hpp"

#include <boost/spirit/home/x3.hpp>
#include <boost/spirit/home/x3/support/ast/position_tagged.hpp>
#include <boost/spirit/home/x3/support/ast/variant.hpp>
#include <boost/spirit/home/x3/support/utility/lambda_visitor.hpp>

#include <string>
#include <type_traits>
#include <vector>

namespace cvmd::dsl::parser {

namespace x3 = boost::spirit::x3;

struct error_handler_tag;

// Byte offsets of the node boundaries, indexed by position_tagged ids.
using PositionTable = std::vector<std::size_t>;

class ErrorHandler
{
public:
  using iterator = std::string::const_iterator;

  ErrorHandler(const SourceFile& source, Diagnostics& diagnostics, PositionTable& positions);

  template<typename Node>
  void tag(Node& node, iterator first, iterator last)
  {
    if constexpr (std::is_base_of_v<x3::position_tagged, Node>) {
      node.id_first = static_cast<int>(m_positions.size());
      m_positions.push_back(offset(skip_blanks(first)));
      node.id_last = static_cast<int>(m_positions.size());
      m_positions.push_back(offset(last));
    }
  }

  // Reports `expected WHAT, found TOKEN` for an expectation failure at `where`.
  void report_expected(iterator where, const std::string& what);
  // Reports a syntax error with a full message at the token at or after `where`.
  void report_at(iterator where, std::string message);

  int& nesting_depth() { return m_nesting_depth; }

  iterator skip_blanks(iterator it) const;
  iterator end_of_previous_token(iterator it) const;
  bool names_keyword(const std::string& what, iterator token, bool crossed_line) const;
  std::size_t offset(iterator it) const;
  const SourceFile& source() const { return m_source; }

private:
  const SourceFile& m_source;
  Diagnostics& m_diagnostics;
  PositionTable& m_positions;
  int m_nesting_depth = 0;
};

// Describes the token at `offset` for messages: 'send', "a string", end of file.
std::string describe_token(const std::string& text, std::size_t offset);

// Base of every rule id whose node should remember where it stands.
struct annotate_position
{
  template<typename Iterator, typename Context, typename... Types>
  void on_success(Iterator const& first, Iterator const& last, x3::variant<Types...>& node, Context const& context)
  {
    node.apply_visitor(
      x3::make_lambda_visitor<void>([&](auto& inner) { this->on_success(first, last, inner, context); }));
  }

  template<typename T, typename Iterator, typename Context>
  void on_success(Iterator const& first, Iterator const& last, x3::forward_ast<T>& node, Context const& context)
  {
    this->on_success(first, last, node.get(), context);
  }

  template<typename T, typename Iterator, typename Context>
  std::enable_if_t<!x3::traits::is_variant<T>::value>
  on_success(Iterator const& first, Iterator const& last, T& node, Context const& context)
  {
    x3::get<error_handler_tag>(context).get().tag(node, first, last);
  }
};

// Base of the top-level rule: one failed declaration becomes one diagnostic, and the
// driver then resumes at the next declaration.
struct report_expectation_failure
{
  template<typename Iterator, typename Exception, typename Context>
  x3::error_handler_result
  on_error(Iterator&, Iterator const&, Exception const& failure, Context const& context)
  {
    x3::get<error_handler_tag>(context).get().report_expected(failure.where(), failure.which());
    return x3::error_handler_result::fail;
  }
};

} // namespace cvmd::dsl::parser
