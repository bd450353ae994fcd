// Instantiates the grammar once; nothing else includes grammar_def.hpp.
#include "config.hpp"
#include "grammar_def.hpp"

namespace cvmd::dsl::parser {

BOOST_SPIRIT_INSTANTIATE(declaration_type, iterator_type, context_type)

} // namespace cvmd::dsl::parser

namespace cvmd::dsl {

parser::declaration_type const&
declaration()
{
  return parser::declaration;
}

} // namespace cvmd::dsl
