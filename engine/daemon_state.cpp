#include "engine/daemon_state.hpp"

#include "engine/store.hpp"

#include <boost/json.hpp>

#include <cstdio>

namespace cvmd {

void
DaemonState::count_request(int status)
{
  std::lock_guard lock(m_mutex);
  ++m_requests[status];
}

void
DaemonState::count_cycle(double seconds, int exit_code)
{
  std::lock_guard lock(m_mutex);
  ++m_cycles;
  m_cycle_failures += exit_code == 0 ? 0 : 1;
  m_last_exit = exit_code;
  m_cycle_seconds_sum += seconds;
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    m_cycle_buckets[b] += seconds <= buckets[b] ? 1 : 0;
  }
}

std::string
DaemonState::health_json() const
{
  std::lock_guard lock(m_mutex);
  boost::json::array reasons;
  if (m_last_exit < 0) {
    reasons.push_back("the first cycle has not finished yet");
  } else if (m_last_exit == 3) {
    reasons.push_back("the scenario files have errors and were refused; the last set that passed its check keeps "
                      "running (see the log)");
  } else if (m_last_exit == 1) {
    reasons.push_back("the scenarios have errors: nothing new is planned (see the log; earlier messages still go)");
  } else if (m_last_exit > 1) {
    reasons.push_back("the last cycle could not run (see the log)");
  }
  return boost::json::serialize(boost::json::object{{"status", "ok"},
                                                    {"ready", m_last_exit == 0 || m_last_exit == 3},
                                                    {"reasons", reasons},
                                                    {"cycles", m_cycles}}) +
         "\n";
}

std::string
DaemonState::prometheus(const Store& store, std::int64_t now) const
{
  std::string out;
  const auto line = [&](const std::string& text) { out += text + "\n"; };
  const auto number = [](double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", v);
    return std::string(buffer);
  };
  {
    std::lock_guard lock(m_mutex);
    line("# HELP cvmd_http_requests_total HTTP requests answered, by status code.");
    line("# TYPE cvmd_http_requests_total counter");
    for (const auto& [status, count] : m_requests) {
      line("cvmd_http_requests_total{code=\"" + std::to_string(status) + "\"} " + std::to_string(count));
    }
    line("# HELP cvmd_events_ingested_total Events, orders and identifies stored through the event API.");
    line("# TYPE cvmd_events_ingested_total counter");
    line("cvmd_events_ingested_total " + std::to_string(m_events.load()));
    line("# HELP cvmd_cycle_failures_total Cycles whose scenarios were refused or that could not run.");
    line("# TYPE cvmd_cycle_failures_total counter");
    line("cvmd_cycle_failures_total " + std::to_string(m_cycle_failures));
    line("# HELP cvmd_cycle_duration_seconds Time of a cycle: evaluation, planning and sending.");
    line("# TYPE cvmd_cycle_duration_seconds histogram");
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      line("cvmd_cycle_duration_seconds_bucket{le=\"" + number(buckets[b]) + "\"} " +
           std::to_string(m_cycle_buckets[b]));
    }
    line("cvmd_cycle_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(m_cycles));
    line("cvmd_cycle_duration_seconds_sum " + number(m_cycle_seconds_sum));
    line("cvmd_cycle_duration_seconds_count " + std::to_string(m_cycles));
  }
  line("# HELP cvmd_messages Messages in the outbox, by channel and state.");
  line("# TYPE cvmd_messages gauge");
  std::int64_t pending = 0;
  for (const auto& [key, count] : store.outbox_counts_by_channel()) {
    line("cvmd_messages{channel=\"" + key.first + "\",state=\"" + key.second + "\"} " + std::to_string(count));
    pending += key.second == "pending" ? count : 0;
  }
  line("# HELP cvmd_queue_depth Messages waiting to be sent (pending).");
  line("# TYPE cvmd_queue_depth gauge");
  line("cvmd_queue_depth " + std::to_string(pending));
  line("# HELP cvmd_due_lateness_seconds How long the oldest due message has been waiting.");
  line("# TYPE cvmd_due_lateness_seconds gauge");
  const auto oldest = store.oldest_due(now);
  line("cvmd_due_lateness_seconds " + std::to_string(oldest ? now - *oldest : 0));
  return out;
}

} // namespace cvmd
