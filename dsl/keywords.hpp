#pragma once
// The reserved words of the language. They cannot name segments, scenarios, templates,
// events or split variants (the checker says so), and they end expressions.

#include <string>
#include <string_view>
#include <vector>

namespace cvmd::dsl {

bool is_reserved_word(std::string_view word); // any case
const std::vector<std::string_view>& reserved_words();

std::string to_lower(std::string_view text);

// True when `text` starts with `segment`, `rule` or `scenario` as a whole word: where the
// parser resumes after a syntax error.
bool starts_declaration(std::string_view text);

} // namespace cvmd::dsl
