#pragma once
// The durable plan: enrollments and the outbox as the store keeps them. The orchestrator
// works in memory; a cycle of `cvmd run` loads the plan, advances it and saves it in one
// transaction, so a crash or a re-run repeats a cycle instead of half-doing it.

#include <cstdint>
#include <optional>
#include <string>

namespace cvmd {

struct EnrollmentRecord
{
  std::uint64_t id = 0;
  std::string customer_id;
  std::string scenario;
  std::string version; // pinned at entry
  std::string variant;
  std::int64_t entered_at = 0;
  std::optional<std::int64_t> goal_from;
  bool converted = false;
  bool active = true;
  std::size_t next_step = 0;          // 0-based
  std::optional<std::int64_t> due_at; // when the next step is due; none once ended
};

// A message handed to a connector. The key is the idempotency key
// scenario:version:customer:enrollment:step; the outbox holds each key once.
struct OutboxMessage
{
  std::string key;
  std::uint64_t enrollment = 0;
  std::string customer_id;
  std::string scenario;
  std::string version;
  int step = 0;
  std::string channel;
  std::string template_name;
  std::string variant;
  std::int64_t due_at = 0;
  // pending (next attempt at next_attempt_at), sent, failed (refused for good), dead
  // (max attempts reached), discarded (by an operator)
  std::string state = "pending";
  int attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::optional<std::int64_t> done_at;
  std::string connector;
  std::string provider_id;
  std::string detail; // the gateway's last words, or why not sent
};

// What one delivery attempt (or a hold-back) does to a pending message.
struct DeliveryRecord
{
  std::string key;
  std::string state;        // the new state
  bool attempted = true;    // counts as an attempt
  std::int64_t at = 0;      // when it happened
  std::int64_t next_attempt_at = 0; // pending: when to try again
  std::string connector;
  std::string provider_id;
  std::string detail;
};

} // namespace cvmd
