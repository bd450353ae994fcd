#include "keywords.hpp"

#include <algorithm>
#include <cctype>

namespace cvmd::dsl {

const std::vector<std::string_view>&
reserved_words()
{
  static const std::vector<std::string_view> words = {
    "after",   "and",   "between", "cap",      "clicked", "did",      "exit",
    "false",  "from",    "goal",  "holdout", "if",       "in",      "not",      "on",
    "once",   "opened",  "or",    "ordered", "per",      "priority", "quiet",   "received",
    "reenter", "rule",   "scenario", "segment", "send",  "split",   "then",     "to",
    "true",   "unless",  "unsubscribed", "wait", "when", "where",   "within",
  };
  return words;
}

bool
is_reserved_word(std::string_view word)
{
  if (word.size() < 2 || word.size() > 12) {
    return false; // the shortest keyword is `if`, the longest `unsubscribed`
  }
  const auto same = [&](std::string_view keyword) {
    if (keyword.size() != word.size()) {
      return false;
    }
    for (std::size_t i = 0; i < word.size(); ++i) {
      const char c = word[i] >= 'A' && word[i] <= 'Z' ? static_cast<char>(word[i] + ('a' - 'A')) : word[i];
      if (c != keyword[i]) {
        return false;
      }
    }
    return true;
  };
  const auto& words = reserved_words();
  return std::any_of(words.begin(), words.end(), same);
}

bool
starts_declaration(std::string_view text)
{
  std::size_t end = 0;
  while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
    ++end;
  }
  const auto word = to_lower(text.substr(0, end));
  return word == "segment" || word == "rule" || word == "scenario";
}

std::string
to_lower(std::string_view text)
{
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

} // namespace cvmd::dsl
