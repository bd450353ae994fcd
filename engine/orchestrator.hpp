#pragma once
// Scenarios meet customer state in time. The orchestrator enrolls customers (a `when`
// condition becoming true, including by time alone, or an `on` event), runs each
// enrollment's steps at their due times under the policies (exit, step condition, active
// window, holdout and splits, consent, quiet hours, frequency caps, priority), and records
// conversions. Every decision goes to a sink with its reason. It never sends anything
// itself: sends are decisions that the caller hands to connectors (or prints).

#include "dsl/program.hpp"
#include "engine/clock.hpp"
#include "engine/customer_state.hpp"
#include "engine/policies.hpp"
#include "engine/timeline.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace cvmd {

// Something that happens to a customer: an order (type "order", with amount) or any event
// (cart_abandoned, opened, clicked, unsubscribed, ...). For opened/clicked `name` is the
// template; for unsubscribed the channel (empty: all).
struct CustomerEvent
{
  std::string customer_id;
  std::string type;
  std::int64_t at = 0;
  std::string name;
  std::int64_t amount_cents = 0;
  std::string order_id;
};

struct OrchestratorSettings
{
  PolicyConfig policies;
  std::string default_timezone = "UTC"; // for customers without one
};

struct OrchestratorStats
{
  std::size_t decisions = 0;
  std::size_t evaluations = 0; // conditions evaluated
  std::size_t enrollments = 0;
};

class Orchestrator
{
public:
  Orchestrator(const dsl::Program& program, CustomerState& state, OrchestratorSettings settings, DecisionSink sink);
  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // Past events (from the store): they count for `did`, `opened`, `unsubscribed` and the
  // like, but trigger nothing.
  void add_history(const CustomerEvent& event);
  // Events still to come: each is handled at its time.
  void schedule(const CustomerEvent& event);

  // Starts at the clock's time (entering everyone whose `when` is true then), and handles
  // everything due before `until`, moving the clock from one due moment to the next.
  void run(VirtualClock& clock, std::int64_t until);

  const OrchestratorStats& stats() const;

private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace cvmd
