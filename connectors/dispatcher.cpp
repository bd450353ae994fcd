#include "connectors/dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

namespace cvmd {

TokenBucket::TokenBucket(double rate, double burst, SteadyTime now)
  : m_rate(rate), m_burst(std::max(1.0, burst)), m_tokens(std::max(1.0, burst)), m_at(now)
{
}

std::chrono::nanoseconds
TokenBucket::take(SteadyTime now)
{
  if (m_rate <= 0) {
    return std::chrono::nanoseconds(0);
  }
  if (now > m_at) {
    m_tokens = std::min(m_burst, m_tokens + std::chrono::duration<double>(now - m_at).count() * m_rate);
    m_at = now;
  }
  m_tokens -= 1;
  if (m_tokens >= 0) {
    return std::chrono::nanoseconds(0);
  }
  // In debt: this token arrives once the debt is paid back.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(-m_tokens / m_rate));
}

bool
CircuitBreaker::allow(SteadyTime now)
{
  if (!m_open) {
    return true;
  }
  if (now < m_until || m_trial_out) {
    return false;
  }
  m_trial_out = true; // half-open: this one message finds out
  return true;
}

void
CircuitBreaker::record(DeliveryStatus status, SteadyTime now)
{
  if (status != DeliveryStatus::retry) {
    // Delivered, or refused for reasons of its own (an address): the gateway works.
    m_in_a_row = 0;
    m_open = false;
    m_trial_out = false;
    m_pause = std::chrono::seconds(0);
    return;
  }
  if (m_open && !m_trial_out) {
    return; // sent before it opened: that failure is already why it is open
  }
  ++m_in_a_row;
  if (m_trial_out || m_in_a_row >= m_settings.failures) {
    m_pause = m_pause.count() == 0 ? m_settings.pause : std::min(m_pause * 2, m_settings.longest_pause);
    m_open = true;
    m_trial_out = false;
    m_until = now + m_pause;
  }
}

Dispatcher::Dispatcher(ConnectorConfig config, ConnectorFactory factory, BreakerSettings breaker)
  : m_config(std::move(config)), m_factory(std::move(factory)), m_breaker(breaker),
    m_bucket(m_config.rate, std::max(1.0, m_config.rate), std::chrono::steady_clock::now())
{
}

Dispatcher::~Dispatcher() = default;

bool
Dispatcher::paused() const
{
  std::lock_guard lock(m_mutex);
  return m_breaker.open();
}

void
Dispatcher::run(std::vector<DispatchItem> items, const std::function<void(const DispatchResult&)>& on_result)
{
  const auto threads = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(1, m_config.concurrency)), 1,
                                               std::max<std::size_t>(1, items.size()));
  while (m_connectors.size() < threads) {
    m_connectors.push_back(m_factory(m_config));
  }
  std::atomic<std::size_t> next{0};
  std::mutex result_mutex;
  std::exception_ptr failure;
  const auto work = [&](Connector& connector) {
    for (auto i = next++; i < items.size(); i = next++) {
      auto& item = items[i];
      DispatchResult result{item.id, {}, true};
      std::chrono::nanoseconds wait{0};
      {
        std::lock_guard lock(m_mutex);
        const auto now = std::chrono::steady_clock::now();
        if (!m_breaker.allow(now)) {
          result.attempted = false;
          result.delivery = Delivery::retry("connector '" + m_config.name + "' is paused after failing in a row (" +
                                            m_breaker.why() + ")");
        } else {
          wait = m_bucket.take(now);
        }
      }
      if (result.attempted) {
        if (wait.count() > 0) {
          std::this_thread::sleep_for(wait);
        }
        result.delivery = connector.deliver(item.message);
        if (!result.delivery.local) {
          std::lock_guard lock(m_mutex);
          m_breaker.record(result.delivery.status, std::chrono::steady_clock::now());
          if (result.delivery.status == DeliveryStatus::retry) {
            m_breaker.set_why(result.delivery.reason);
          }
        }
      }
      std::lock_guard lock(result_mutex);
      if (failure) {
        return;
      }
      try {
        on_result(result);
      } catch (...) {
        // Recording failed (the store is locked or full): hand out nothing more, and let
        // the caller see why once every thread has stopped.
        failure = std::current_exception();
        next = items.size();
      }
    }
  };
  if (threads == 1) {
    work(*m_connectors[0]);
  } else {
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
      pool.emplace_back(work, std::ref(*m_connectors[t]));
    }
    for (auto& thread : pool) {
      thread.join();
    }
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
}

} // namespace cvmd
