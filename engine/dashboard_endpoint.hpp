#pragma once
// /dashboard in the daemon: read-only, behind a token (server.dashboard_tokens or
// api_tokens; a browser may pass it as ?token=). The page is built on a thread of its own
// over a read-only connection, so that the event API is not held up, and kept for a
// minute: reloads and several viewers cost one build.

#include "engine/customer_state.hpp"
#include "engine/http_types.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cvmd {

class Store;

class DashboardEndpoint
{
public:
  using Now = std::function<std::int64_t()>;
  DashboardEndpoint(const Store& store, MetricsConfig metrics, std::vector<std::string> tokens, Now now);
  ~DashboardEndpoint(); // waits for a build in progress

  bool handles(const std::string& path) const { return path == "/dashboard"; }
  // `defer` runs work on the server's thread (the answer is given there).
  void handle(const HttpRequestView& request, Respond respond, const Defer& defer);
  // The daemon is stopping: requests waiting for a page get 503 now, while they can still
  // be answered, and a page finished later is dropped.
  void stop();

private:
  void finish(HttpReply reply);

  const Store& m_store;
  MetricsConfig m_metrics;
  std::vector<std::string> m_tokens;
  Now m_now;
  // Touched on the server's thread only.
  std::vector<Respond> m_waiting;
  bool m_building = false;
  bool m_stopping = false;
  std::string m_page;
  std::chrono::steady_clock::time_point m_built_at;
  std::thread m_builder;
};

} // namespace cvmd
