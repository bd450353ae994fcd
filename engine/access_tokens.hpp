#pragma once
// The daemon's tokens: the event API's write keys (server.api_tokens) and the dashboard's
// read-only ones (server.dashboard_tokens).

#include "engine/http_types.hpp"

#include <string>
#include <vector>

namespace cvmd {

// The token a request presents: `Authorization: Bearer T`, or basic auth with T as the
// user name (Segment's libraries send their write key so), or for a browser opening the
// dashboard `?token=T` when `from_query` is set. Empty when none.
std::string presented_token(const HttpRequestView& request, bool from_query = false);

// Whether `given` is one of `tokens`, compared in constant time; empty never matches.
bool token_accepted(const std::vector<std::string>& tokens, const std::string& given);

} // namespace cvmd
