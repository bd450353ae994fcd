#pragma once
// The types the grammar is instantiated with (see grammar.cpp).

#include "error_handler.hpp"

#include <boost/spirit/home/x3.hpp>

#include <string>

namespace cvmd::dsl::parser {

namespace x3 = boost::spirit::x3;

using iterator_type = std::string::const_iterator;

// Blanks (space, tab, CR, LF) and `#` comments to the end of the line.
using skipper_type = decltype(x3::char_(" \t\r\n\f\v") | (x3::lit('#') >> *(x3::char_ - x3::eol)));
inline const skipper_type skipper = x3::char_(" \t\r\n\f\v") | (x3::lit('#') >> *(x3::char_ - x3::eol));

using phrase_context_type = x3::phrase_parse_context<skipper_type>::type;
using context_type = x3::context<error_handler_tag,
                                 std::reference_wrapper<ErrorHandler>,
                                 phrase_context_type>;

} // namespace cvmd::dsl::parser
