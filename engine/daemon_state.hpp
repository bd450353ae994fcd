#pragma once
// What the daemon knows about itself, for /health and /metrics (Prometheus text format):
// counters updated by the HTTP thread and the scheduler, read by either.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace cvmd {

class Store;

class DaemonState
{
public:
  void count_request(int status);
  void count_events(std::size_t stored) { m_events += stored; }
  void count_cycle(double seconds, int exit_code);

  // Liveness is answering at all; ready when the last cycle ran its scenarios (a refused
  // scenario set is a reason, with the time it happened).
  std::string health_json() const;
  // Counters, the cycle time histogram, and the outbox read from `store` now.
  std::string prometheus(const Store& store, std::int64_t now) const;

private:
  mutable std::mutex m_mutex;
  std::map<int, std::uint64_t> m_requests;
  std::atomic<std::uint64_t> m_events{0};
  std::uint64_t m_cycles = 0;
  std::uint64_t m_cycle_failures = 0;
  int m_last_exit = -1; // no cycle yet
  double m_cycle_seconds_sum = 0;
  static constexpr std::array<double, 8> buckets{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  std::array<std::uint64_t, buckets.size()> m_cycle_buckets{};
};

} // namespace cvmd
