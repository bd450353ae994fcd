#include "engine/dashboard_endpoint.hpp"

#include "engine/access_tokens.hpp"
#include "engine/dashboard.hpp"
#include "engine/store.hpp"

#include <iostream>

namespace cvmd {

namespace {

constexpr auto keep_for = std::chrono::seconds(60);

HttpReply
page_reply(const std::string& page)
{
  return {200,
          "text/html; charset=utf-8",
          page,
          {{"Content-Security-Policy", std::string(dashboard_content_policy) + "; frame-ancestors 'none'"},
           {"X-Frame-Options", "DENY"},
           {"Cache-Control", "no-store"},
           {"X-Content-Type-Options", "nosniff"},
           {"Referrer-Policy", "no-referrer"}}};
}

} // namespace

DashboardEndpoint::DashboardEndpoint(const Store& store, MetricsConfig metrics, std::vector<std::string> tokens,
                                     Now now)
  : m_store(store), m_metrics(metrics), m_tokens(std::move(tokens)), m_now(std::move(now))
{
}

DashboardEndpoint::~DashboardEndpoint()
{
  if (m_builder.joinable()) {
    m_builder.join();
  }
}

void
DashboardEndpoint::handle(const HttpRequestView& request, Respond respond, const Defer& defer)
{
  if (request.method != "GET" && request.method != "HEAD") {
    return respond({405, "text/plain; charset=utf-8", "GET only\n", {{"Allow", "GET, HEAD"}}});
  }
  if (!token_accepted(m_tokens, presented_token(request, true))) {
    return respond({401,
                    "text/plain; charset=utf-8",
                    "a dashboard token is required (Authorization: Bearer or ?token=)\n",
                    {{"WWW-Authenticate", "Bearer"}}});
  }
  if (m_stopping) {
    return respond({503, "text/plain; charset=utf-8", "stopping\n", {{"Retry-After", "5"}}});
  }
  if (!m_page.empty() && std::chrono::steady_clock::now() - m_built_at < keep_for) {
    return respond(page_reply(m_page));
  }
  m_waiting.push_back(std::move(respond));
  if (m_building) {
    return;
  }
  m_building = true;
  if (m_builder.joinable()) {
    m_builder.join(); // the previous build is over: it handed its page back before
  }
  const auto at = m_now();
  m_builder = std::thread([this, at, defer] {
    HttpReply reply;
    try {
      auto reader = m_store.reader();
      if (!reader) {
        throw std::runtime_error(reader.error());
      }
      reply = page_reply(dashboard_page(**reader, m_metrics, at));
    } catch (const std::exception& e) {
      std::cerr << "cvmd serve: /dashboard: " << e.what() << "\n";
      reply = {503,
               "text/plain; charset=utf-8",
               "the dashboard cannot be built just now, try again\n",
               {{"Retry-After", "5"}}};
    }
    defer([this, reply = std::move(reply)]() mutable { finish(std::move(reply)); });
  });
}

void
DashboardEndpoint::stop()
{
  m_stopping = true;
  auto waiting = std::move(m_waiting);
  m_waiting.clear();
  for (auto& respond : waiting) {
    respond({503, "text/plain; charset=utf-8", "stopping\n", {{"Retry-After", "5"}}});
  }
}

void
DashboardEndpoint::finish(HttpReply reply)
{
  m_building = false;
  if (m_stopping) {
    return;
  }
  if (reply.status == 200) {
    m_page = reply.body;
    m_built_at = std::chrono::steady_clock::now();
  }
  auto waiting = std::move(m_waiting);
  m_waiting.clear();
  for (auto& respond : waiting) {
    respond(reply);
  }
}

} // namespace cvmd
