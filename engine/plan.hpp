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
  std::string state = "pending"; // pending, sent, failed
};

} // namespace cvmd
