#include "engine/command_serve.hpp"

#include "engine/command_run.hpp"
#include "engine/daemon_state.hpp"
#include "engine/dashboard_endpoint.hpp"
#include "engine/event_api.hpp"
#include "engine/http_server.hpp"
#include "engine/log_lines.hpp"
#include "engine/outbox_sender.hpp"
#include "engine/run_lock.hpp"
#include "engine/tracking.hpp"

#include <boost/url/parse.hpp>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

namespace cvmd {

namespace {

std::int64_t
wall_now()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Checkpoints the WAL on a thread and connection of its own, so that no commit of the event
// API (or of a cycle) waits for the store's file to be written and synced: SQLite would
// otherwise checkpoint inside whichever commit filled the WAL to 1000 pages.
class Checkpointer
{
public:
  static constexpr int pages = 1000; // SQLite's own automatic checkpoint point

  explicit Checkpointer(const std::string& path) : m_store(Store::open(path))
  {
    if (m_store) {
      m_thread = std::thread([this] { loop(); });
    } else {
      std::cerr << "cvmd serve: checkpoints stay in the commits: " << m_store.error() << "\n";
    }
  }
  ~Checkpointer()
  {
    {
      std::lock_guard lock(m_signal->mutex);
      m_signal->stopping = true;
    }
    m_signal->wake.notify_one();
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }

  // Commits on `store` leave the checkpoints to this thread (when it could open the store).
  void take_over(Store& store)
  {
    if (m_thread.joinable()) {
      store.checkpoint_elsewhere(pages, [signal = m_signal] { signal->ask(); });
    }
  }

private:
  // Shared with the connections' hooks, which may outlive the thread.
  struct Signal
  {
    std::mutex mutex;
    std::condition_variable wake;
    bool due = false;
    bool stopping = false;

    void ask()
    {
      {
        std::lock_guard lock(mutex);
        if (due) {
          return;
        }
        due = true;
      }
      wake.notify_one();
    }
  };

  void loop()
  {
    auto& s = *m_signal;
    std::unique_lock lock(s.mutex);
    while (true) {
      s.wake.wait(lock, [&s] { return s.due || s.stopping; });
      if (s.stopping) {
        return;
      }
      s.due = false;
      lock.unlock();
      try {
        (*m_store)->checkpoint();
      } catch (const std::exception& e) {
        std::cerr << "cvmd serve: checkpoint: " << e.what() << "\n"; // the next commit asks again
      }
      lock.lock();
    }
  }

  Result<std::unique_ptr<Store>> m_store;
  std::shared_ptr<Signal> m_signal = std::make_shared<Signal>();
  std::thread m_thread; // last: starts once everything above is ready
};

// Runs cycles on its own connection: every server.cycle_every, and a second after events
// arrived (so that an order or an event is acted on at once, a batch at a time).
class Scheduler
{
public:
  Scheduler(const Config& config, std::string store_path, DaemonState& state, Checkpointer& checkpointer)
    : m_config(config), m_path(std::move(store_path)), m_state(state), m_checkpointer(checkpointer),
      m_thread([this] { loop(); })
  {
  }
  ~Scheduler() { stop(); }

  void poke()
  {
    std::lock_guard lock(m_mutex);
    if (!m_poked) {
      m_poked = true;
      m_poked_at = std::chrono::steady_clock::now();
    }
    m_wake.notify_one();
  }

  // Lets the cycle in progress finish (its messages are sent and marked), then returns.
  void stop()
  {
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
    }
    m_wake.notify_one();
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }

private:
  void loop()
  {
    auto store = Store::open(m_path);
    if (!store) {
      std::cerr << "cvmd serve: scheduler: " << store.error() << "\n";
      m_state.count_cycle(0, 2);
      return;
    }
    m_checkpointer.take_over(**store);
    if (m_config.server.sync_commits) {
      (*store)->sync_every_commit(); // a message marked sent must not be sent again after a power loss
    }
    OutboxSender sender(m_config, outbox_directory(**store, ""));
    while (true) {
      const auto started = std::chrono::steady_clock::now();
      int exit_code = 2;
      try {
        exit_code = run_cycle(**store, m_config, wall_now(), "", &sender);
      } catch (const std::exception& e) {
        std::cerr << "cvmd serve: cycle failed: " << e.what() << "\n"; // the next one tries again
      }
      std::cout.flush();
      m_state.count_cycle(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), exit_code);
      std::unique_lock lock(m_mutex);
      const auto next = started + std::chrono::seconds(std::max<std::int64_t>(1, m_config.server.cycle_every_seconds));
      // A poke asks for a cycle a second later (events of one burst go together).
      while (!m_stopping) {
        const auto deadline = m_poked ? std::min(next, m_poked_at + std::chrono::seconds(1)) : next;
        if (std::chrono::steady_clock::now() >= deadline) {
          break;
        }
        m_wake.wait_until(lock, deadline);
      }
      if (m_stopping) {
        return;
      }
      m_poked = false;
    }
  }

  const Config& m_config;
  std::string m_path;
  DaemonState& m_state;
  Checkpointer& m_checkpointer;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_poked = false;
  bool m_stopping = false;
  std::chrono::steady_clock::time_point m_poked_at;
  std::thread m_thread; // last: starts once everything above is ready
};

int
run_serve(const GlobalOptions& global, const std::string& listen)
{
  auto exclusive = open_store_exclusive(global, "serve");
  if (!exclusive) {
    return 2;
  }
  auto& store = *exclusive->opened.store;
  const auto& config = exclusive->opened.config;
  ServerSettings settings;
  settings.listen = listen.empty() ? config.server.listen : listen;
  settings.max_connections = config.server.max_connections;
  std::optional<Tracker> tracker;
  if (!config.server.public_url.empty() && !config.server.link_secret.empty()) {
    const auto url = boost::urls::parse_uri(config.server.public_url);
    tracker.emplace(store, LinkSigner(config.server.public_url, config.server.link_secret),
                    url ? std::string(url->encoded_path()) : std::string(), wall_now);
  } else {
    std::cerr << "cvmd serve: server.public_url and server.link_secret are not set: tracking, unsubscribe and "
                 "delivery-report links are not answered\n";
  }
  std::optional<JsonLines> json_lines;
  if (config.json_logs) {
    json_lines.emplace(); // every line printed from here on is one JSON object
  }
  store.keep_temporaries_in_memory();
  if (config.server.sync_commits) {
    store.sync_every_commit();
  }
  // The store's connection is the event API's thread's (EventApi::run_with_store); this
  // thread reads through a connection of its own.
  const auto metrics_store = store.reader();
  if (!metrics_store) {
    std::cerr << "cvmd serve: " << metrics_store.error() << "\n";
    return 2;
  }
  Checkpointer checkpointer(store.path());
  checkpointer.take_over(store);
  DaemonState state;
  EventApi events(store, config.server.api_tokens, wall_now);
  std::optional<Scheduler> scheduler;
  events.on_stored([&](std::size_t stored) {
    state.count_events(stored);
    if (stored > 0 && scheduler) {
      scheduler->poke();
    }
  });
  auto dashboard_tokens = config.server.dashboard_tokens;
  dashboard_tokens.insert(dashboard_tokens.end(), config.server.api_tokens.begin(), config.server.api_tokens.end());
  DashboardEndpoint dashboard(store, config.metrics, dashboard_tokens, wall_now);
  Defer defer_work;
  const auto route = [&](const HttpRequestView& request, const Respond& respond) {
    const auto path = request.target.substr(0, request.target.find('?'));
    if (path == "/health") {
      return respond({200, "application/json", state.health_json(), {}});
    }
    if (path == "/metrics") {
      return respond({200, "text/plain; version=0.0.4; charset=utf-8", state.prometheus(**metrics_store, wall_now()), {}});
    }
    if (dashboard.handles(path)) {
      return dashboard.handle(request, respond, defer_work);
    }
    if (events.handles(path)) {
      return events.handle(request, respond);
    }
    if (tracker && tracker->handles(request.target)) {
      auto copy = std::make_shared<HttpRequestView>(request);
      return events.run_with_store([&tracker, copy] { return tracker->handle(*copy); }, respond);
    }
    respond(HttpReply::text(404, "not found\n"));
  };
  const auto handler = [&](const HttpRequestView& request, Respond respond) {
    const auto counted = [&state, respond = std::move(respond)](HttpReply reply) {
      state.count_request(reply.status);
      respond(std::move(reply));
    };
    try {
      route(request, counted);
    } catch (const std::exception& e) {
      // The store is busy (a long cycle commit) or failing: nothing was acknowledged, so
      // the client tries again.
      std::cerr << "cvmd serve: " << request.method << " " << request.target.substr(0, request.target.find('?')) << ": "
                << e.what() << "\n";
      counted({503, "application/json", "{\"success\":false,\"error\":\"busy, try again\"}\n", {{"Retry-After", "1"}}});
    }
  };
  const auto served = serve_http(
    settings, handler,
    [&](const std::string& address, Defer defer) {
      defer_work = defer;
      events.set_defer(std::move(defer));
      std::cout << "cvmd serve: listening on " << address << std::endl;
      scheduler.emplace(config, store.path(), state, checkpointer);
    },
    [&] {
      // Scenario and template files are read at every cycle: SIGHUP just brings the next one
      // forward, so an edit takes effect now instead of at the next cycle_every.
      if (scheduler) {
        scheduler->poke();
      }
    },
    [&] {
      dashboard.stop();
      events.stop(); // its answers still go out during the grace second
    });
  if (scheduler) {
    scheduler->stop();
  }
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
