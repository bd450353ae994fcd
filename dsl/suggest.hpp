#pragma once
// "Did you mean" for misspelt names.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cvmd::dsl {

// The closest candidate within a small edit distance, if any.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

} // namespace cvmd::dsl
