#include "engine/command_serve.hpp"

#include "engine/event_api.hpp"
#include "engine/http_server.hpp"
#include "engine/tracking.hpp"

#include <boost/url/parse.hpp>

#include <chrono>
#include <iostream>
#include <optional>

namespace cvmd {

namespace {

std::int64_t
wall_now()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int
run_serve(const GlobalOptions& global, const std::string& listen)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  auto& store = *opened->store;
  const auto& config = opened->config;
  ServerSettings settings;
  settings.listen = listen.empty() ? config.server.listen : listen;
  std::optional<Tracker> tracker;
  if (!config.server.public_url.empty() && !config.server.link_secret.empty()) {
    const auto url = boost::urls::parse_uri(config.server.public_url);
    tracker.emplace(store, LinkSigner(config.server.public_url, config.server.link_secret),
                    url ? std::string(url->encoded_path()) : std::string(), wall_now);
  } else {
    std::cerr << "cvmd serve: server.public_url and server.link_secret are not set: tracking, unsubscribe and "
                 "delivery-report links are not answered\n";
  }
  EventApi events(store, config.server.api_tokens, wall_now);
  const auto handler = [&](const HttpRequestView& request) -> HttpReply {
    const auto path = request.target.substr(0, request.target.find('?'));
    if (path == "/health") {
      return {200, "application/json", "{\"status\":\"ok\"}\n", {}};
    }
    if (events.handles(path)) {
      return events.handle(request);
    }
    if (tracker && tracker->handles(request.target)) {
      return tracker->handle(request);
    }
    return HttpReply::text(404, "not found\n");
  };
  const auto served = serve_http(settings, handler, [](const std::string& address) {
    std::cout << "cvmd serve: listening on " << address << std::endl;
  });
  if (!served) {
    std::cerr << "cvmd serve: " << served.error() << "\n";
    return 2;
  }
  std::cout << "cvmd serve: stopped" << std::endl;
  return 0;
}

} // namespace

void
add_serve_command(CLI::App& app, const GlobalOptions& global, int& exit_code)
{
  auto listen = std::make_shared<std::string>();
  auto* serve = app.add_subcommand("serve", "Run the daemon: tracking links and health, until SIGTERM");
  serve->add_option("--listen", *listen, "HOST:PORT instead of server.listen (port 0: any free port)");
  serve->callback([listen, &global, &exit_code] { exit_code = run_serve(global, *listen); });
}

} // namespace cvmd
