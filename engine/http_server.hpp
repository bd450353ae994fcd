#pragma once
// The daemon's HTTP/1.1 server on Boost.Beast: keep-alive, a timeout on every read and
// write, a body limit, and a clean stop on SIGTERM/SIGINT (stop accepting, finish the
// answers in flight). Handlers get plain values (http_types.hpp); Beast stays in the .cpp.

#include "engine/http_types.hpp"
#include "engine/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace cvmd {

struct ServerSettings
{
  std::string listen = "127.0.0.1:8080"; // HOST:PORT; port 0 picks a free one
  std::size_t body_limit = 1024 * 1024;
  std::chrono::seconds timeout{30};
  std::size_t max_connections = 1000; // beyond: 503 and closed, so file descriptors never run out
};

using HttpHandler = std::function<void(const HttpRequestView&, Respond respond)>;

// Serves on one thread until SIGTERM or SIGINT; `on_listening` gets the bound address and
// the server's Defer, `on_reload` is called on each SIGHUP, `on_stopping` on SIGTERM/SIGINT
// while answers can still be written (handlers holding requests answer or drop them then).
// An error when it cannot listen.
Result<bool> serve_http(const ServerSettings& settings, HttpHandler handler,
                        const std::function<void(const std::string& address, Defer defer)>& on_listening,
                        const std::function<void()>& on_reload, const std::function<void()>& on_stopping);

} // namespace cvmd
