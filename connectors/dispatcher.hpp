#pragma once
// Hands messages to one connector: several connections at once, a token bucket for the
// gateway's rate, and a circuit breaker that pauses a failing gateway and tries it again
// by itself. Knows nothing of the outbox: the caller gets each result and records it.

#include "connectors/connector.hpp"
#include "connectors/connector_config.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace cvmd {

using SteadyTime = std::chrono::steady_clock::time_point;

// `rate` tokens a second, at most `burst` saved up; a message takes one.
class TokenBucket
{
public:
  TokenBucket(double rate, double burst, SteadyTime now);
  // Takes a token; how long the caller must wait before using it (zero when one was there).
  std::chrono::nanoseconds take(SteadyTime now);

private:
  double m_rate;
  double m_burst;
  double m_tokens;
  SteadyTime m_at;
};

struct BreakerSettings
{
  int failures = 5;               // transient failures in a row that open it
  std::chrono::seconds pause{30}; // the first pause; doubled while it keeps failing
  std::chrono::seconds longest_pause{600};
};

// Closed: everything goes. Open: nothing goes until the pause is over. Then half-open: one
// message goes; its success closes the breaker, its failure opens it for twice as long.
class CircuitBreaker
{
public:
  explicit CircuitBreaker(BreakerSettings settings) : m_settings(settings) {}
  bool allow(SteadyTime now);
  void record(DeliveryStatus status, SteadyTime now);
  bool open() const { return m_open; }
  const std::string& why() const { return m_why; }
  void set_why(std::string why) { m_why = std::move(why); }

private:
  BreakerSettings m_settings;
  int m_in_a_row = 0;
  bool m_open = false;
  bool m_trial_out = false;
  std::chrono::seconds m_pause{0};
  SteadyTime m_until{};
  std::string m_why;
};

struct DispatchItem
{
  std::size_t id = 0; // the caller's
  RenderedMessage message;
};

struct DispatchResult
{
  std::size_t id = 0;
  Delivery delivery;
  bool attempted = true; // false: the breaker held it back; no attempt to count
};

using ConnectorFactory = std::function<std::unique_ptr<Connector>(const ConnectorConfig&)>;

class Dispatcher
{
public:
  Dispatcher(ConnectorConfig config, ConnectorFactory factory, BreakerSettings breaker = {});
  ~Dispatcher();

  // Delivers every item on up to `concurrency` threads and returns when all are done;
  // `on_result` is called once per item, never on two threads at once. An exception from
  // `on_result` stops the run (items not yet handed out are not sent) and is rethrown.
  void run(std::vector<DispatchItem> items, const std::function<void(const DispatchResult&)>& on_result);

  const ConnectorConfig& config() const { return m_config; }
  bool paused() const;

private:
  ConnectorConfig m_config;
  ConnectorFactory m_factory;
  std::vector<std::unique_ptr<Connector>> m_connectors; // one per thread, kept between runs
  mutable std::mutex m_mutex;
  CircuitBreaker m_breaker;
  TokenBucket m_bucket;
};

} // namespace cvmd
