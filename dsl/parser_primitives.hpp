#pragma once
// The grammar's primitive parsers: case-insensitive keywords, identifiers, strings,
// numbers, and the helpers that place "expected ..." errors at the right token.

#include "error_handler.hpp"
#include "keywords.hpp"

#include <boost/spirit/home/x3.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

namespace cvmd::dsl::parser {

namespace x3 = boost::spirit::x3;

inline bool
is_identifier_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

inline bool
is_identifier_start(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// Reads [A-Za-z_][A-Za-z0-9_]* (optionally one `.part`) at `it`; returns its end or `it`.
template<typename Iterator>
Iterator
scan_identifier(Iterator it, Iterator const& last, bool allow_dot)
{
  if (it == last || !is_identifier_start(*it)) {
    return it;
  }
  auto end = it;
  while (end != last && is_identifier_char(*end)) {
    ++end;
  }
  if (allow_dot && end != last && *end == '.') {
    auto after = std::next(end);
    if (after != last && is_identifier_start(*after)) {
      end = after;
      while (end != last && is_identifier_char(*end)) {
        ++end;
      }
    }
  }
  return end;
}

// A case-insensitive keyword that must not continue as an identifier (`order` is not `ordered`).
struct keyword_parser : x3::parser<keyword_parser>
{
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;

  explicit constexpr keyword_parser(char const* word_) : word(word_) {}

  template<typename Iterator, typename Context, typename RContext, typename Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute&) const
  {
    x3::skip_over(first, last, context);
    auto it = first;
    for (char const* p = word; *p != '\0'; ++p, ++it) {
      if (it == last || (*it | 0x20) != *p) {
        return false;
      }
    }
    if (it != last && is_identifier_char(*it)) {
      return false;
    }
    first = it;
    return true;
  }

  char const* word;
};

} // namespace cvmd::dsl::parser

namespace boost::spirit::x3 {
template<>
struct get_info<cvmd::dsl::parser::keyword_parser>
{
  using result_type = std::string;
  std::string operator()(cvmd::dsl::parser::keyword_parser const& p) const
  {
    return "'" + std::string(p.word) + "'";
  }
};
} // namespace boost::spirit::x3

namespace cvmd::dsl::parser {

constexpr keyword_parser
kw(char const* word)
{
  return keyword_parser(word);
}

// An identifier as written. `allow_reserved` is for declared names (a keyword there is a
// checker error with a clear message, not a confusing syntax error); references never
// match a reserved word, which is what lets expressions end at `then`, `after`, `send`...
struct identifier_parser : x3::parser<identifier_parser>
{
  using attribute_type = std::string;

  constexpr identifier_parser(bool allow_reserved_, bool allow_dot_)
    : allow_reserved(allow_reserved_), allow_dot(allow_dot_) {}

  template<typename Iterator, typename Context, typename RContext, typename Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const
  {
    x3::skip_over(first, last, context);
    auto end = scan_identifier(first, last, allow_dot);
    if (end == first) {
      return false;
    }
    std::string word(first, end);
    if (!allow_reserved && is_reserved_word(word)) {
      return false;
    }
    x3::traits::move_to(word, attr);
    first = end;
    return true;
  }

  bool allow_reserved;
  bool allow_dot;
};

// A double-quoted UTF-8 string on one line, with \" \\ \n \t escapes. A missing closing
// quote is reported at the opening one, where the person has to look.
struct string_parser : x3::parser<string_parser>
{
  using attribute_type = std::string;

  template<typename Iterator, typename Context, typename RContext, typename Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const
  {
    x3::skip_over(first, last, context);
    if (first == last || *first != '"') {
      return false;
    }
    std::string value;
    for (auto it = std::next(first); it != last; ++it) {
      const char c = *it;
      if (c == '"') {
        x3::traits::move_to(value, attr);
        first = std::next(it);
        return true;
      }
      if (c == '\n' || c == '\r') {
        break;
      }
      if (c == '\\') {
        auto next = std::next(it);
        if (next == last || (*next != '"' && *next != '\\' && *next != 'n' && *next != 't')) {
          throw x3::expectation_failure<Iterator>(
            it, "!unknown escape in string: use \\\", \\\\, \\n or \\t");
        }
        value += *next == 'n' ? '\n' : *next == 't' ? '\t' : *next;
        it = next;
        continue;
      }
      value += c;
    }
    throw x3::expectation_failure<Iterator>(
      first, "!unterminated string: the closing quote \" is missing on this line");
  }
};

// Fails with `expected WHAT` at the next token, not at the end of the previous line: used
// where a list of items ends and the next token fits nothing.
struct expected_parser : x3::parser<expected_parser>
{
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;

  explicit constexpr expected_parser(char const* what_) : what(what_) {}

  template<typename Iterator, typename Context, typename RContext, typename Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute&) const
  {
    auto it = first;
    x3::skip_over(it, last, context);
    throw x3::expectation_failure<Iterator>(it, what);
  }

  char const* what;
};

// Looks at the next token only: can a condition start here? Makes `a and` followed by
// something else an error right after `and` without parsing the condition twice.
struct condition_start_parser : x3::parser<condition_start_parser>
{
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;

  template<typename Iterator, typename Context, typename RContext, typename Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute&) const
  {
    auto it = first;
    x3::skip_over(it, last, context);
    if (it == last) {
      return false;
    }
    const char c = *it;
    if (c == '(' || c == '"' || c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
      return true;
    }
    const auto end = scan_identifier(it, last, false);
    if (end == it) {
      return false;
    }
    const auto word = to_lower(std::string(it, end));
    return !is_reserved_word(word) || word == "not" || word == "true" || word == "false" || word == "ordered" ||
           word == "opened" || word == "clicked" || word == "received" || word == "unsubscribed" || word == "did";
  }
};

// Bounds the recursion of parentheses and `not`: a deeply nested condition is an error
// with a place, not a stack overflow.
template<typename Subject>
struct nesting_guard : x3::unary_parser<Subject, nesting_guard<Subject>>
{
  using base_type = x3::unary_parser<Subject, nesting_guard<Subject>>;
  static bool const is_pass_through_unary = true;
  static bool const handles_container = Subject::handles_container;
  static constexpr int limit = 64;

  constexpr nesting_guard(Subject const& guarded) : base_type(guarded) {}

  template<typename Iterator, typename Context, typename RContext, typename Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext& rcontext, Attribute& attr) const
  {
    auto& depth = x3::get<error_handler_tag>(context).get().nesting_depth();
    if (depth >= limit) {
      auto at = first;
      x3::skip_over(at, last, context);
      throw x3::expectation_failure<Iterator>(
        at, "!conditions are nested too deeply (more than 64 levels of parentheses or 'not')");
    }
    ++depth;
    struct Leave
    {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth};
    return this->subject.parse(first, last, context, rcontext, attr);
  }
};

template<typename Subject>
constexpr nesting_guard<typename x3::extension::as_parser<Subject>::value_type>
nested(Subject const& subject)
{
  return {x3::as_parser(subject)};
}

// [+-]digits[.digits][e[+-]digits]. Not `nan` or `inf` (those are names here), and a
// number too large for a double is an error at the number, not a puzzling failure later.
struct number_parser : x3::parser<number_parser>
{
  using attribute_type = double;

  template<typename Iterator, typename Context, typename RContext, typename Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const
  {
    x3::skip_over(first, last, context);
    auto it = first;
    auto digits = [&] {
      const auto start = it;
      while (it != last && *it >= '0' && *it <= '9') {
        ++it;
      }
      return it != start;
    };
    if (it != last && (*it == '+' || *it == '-')) {
      ++it;
    }
    bool any = digits();
    if (it != last && *it == '.') {
      ++it;
      any = digits() || any;
    }
    if (!any) {
      return false;
    }
    if (it != last && (*it == 'e' || *it == 'E')) {
      auto exponent = std::next(it);
      if (exponent != last && (*exponent == '+' || *exponent == '-')) {
        ++exponent;
      }
      if (exponent != last && *exponent >= '0' && *exponent <= '9') {
        it = exponent;
        digits();
      }
    }
    const std::string text(first, it);
    const double value = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(value)) {
      throw x3::expectation_failure<Iterator>(first, "!number out of range: " + text);
    }
    x3::traits::move_to(value, attr);
    first = it;
    return true;
  }
};

inline const number_parser number_value = {};
inline const identifier_parser declared_identifier{true, false};
inline const identifier_parser reference_identifier{false, false};
inline const identifier_parser dotted_reference_identifier{false, true};
inline const auto word_end = !x3::char_("a-zA-Z0-9_");

} // namespace cvmd::dsl::parser
