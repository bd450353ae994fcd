// Instantiates the grammar once; nothing else includes grammar_def.hpp.
#include "config.hpp"
#include "grammar_def.hpp"

namespace cvmd::dsl::parser {

BOOST_SPIRIT_INSTANTIATE(declaration_type, iterator_type, context_type)

bool
starts_declaration(std::string::const_iterator it, std::string::const_iterator end)
{
  const auto end_of_word = scan_identifier(it, end, false);
  const auto word = to_lower(std::string(it, end_of_word));
  return word == "segment" || word == "rule" || word == "scenario";
}

} // namespace cvmd::dsl::parser

namespace cvmd::dsl {

parser::declaration_type const&
declaration()
{
  return parser::declaration;
}

} // namespace cvmd::dsl
