#pragma once
// Declaration of the scenario grammar; the definition is in grammar_def.hpp and is
// instantiated once, in grammar.cpp.

#include "ast.hpp"

#include <boost/spirit/home/x3.hpp>

namespace cvmd::dsl::parser {

namespace x3 = boost::spirit::x3;

struct declaration_class;
using declaration_type = x3::rule<declaration_class, ast::Declaration>;
BOOST_SPIRIT_DECLARE(declaration_type)

} // namespace cvmd::dsl::parser

namespace cvmd::dsl {
parser::declaration_type const& declaration();
}
