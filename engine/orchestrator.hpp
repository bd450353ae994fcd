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
#include "engine/plan.hpp"
#include "engine/policies.hpp"
#include "engine/timeline.hpp"

#include <cstdint>
#include <memory>
#include <set>
#include <vector>
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
  // Stored after the cycle that covered its time: it is already in the snapshot (orders)
  // or the history (events), and is handled now for what it starts, ends or converts.
  bool late = false;
  // The message a tracking event (opened, clicked, ...) is about, when it says.
  std::string message_key;
};

struct OrchestratorSettings
{
  PolicyConfig policies;
  std::string default_timezone = "UTC"; // for customers without one
  // Scores, RFM segments, VIP and value tiers rank customers against each other; they are
  // recomputed this often (aligned to UTC midnight for whole days), and every customer is
  // checked again after. 0: never (they keep the snapshot's values).
  std::int64_t rankings_refresh_seconds = 86400;
};

struct OrchestratorStats
{
  std::size_t decisions = 0;
  std::size_t evaluations = 0; // conditions evaluated
  std::size_t enrollments = 0;
  std::size_t refreshes = 0; // of the rankings
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

  // Resuming a durable plan (cvmd run): scenarios launched in earlier cycles do not enter
  // everyone who matches at the start again; their customers enter when `when` turns true.
  void set_launched(std::set<std::string> scenario_ids);
  void set_last_enrollment_id(std::uint64_t id);
  // An entry of an earlier cycle, for `once` and `reenter after`.
  void add_past_entry(const std::string& customer_id, const std::string& scenario_id, std::int64_t at);
  // Who matched a state scenario's `when` at the end of the last cycle: on resuming, whoever
  // matches now and did not then enters (a condition turned true by an import in between).
  // set_remembered names the scenarios whose matches are known (possibly none).
  void set_remembered(std::set<std::string> scenario_ids);
  void remember_match(const std::string& scenario_id, const std::string& customer_id);
  // Each state scenario with the customers its `when` holds for now.
  std::vector<std::pair<std::string, std::vector<std::string>>> matches() const;
  // A message of an earlier cycle, for caps and `received`.
  void add_sent(const OutboxMessage& message);
  // Keeps the program of an older scenario version alive for as long as the orchestrator.
  const dsl::Program* keep(std::unique_ptr<dsl::Program> program);
  // An enrollment of an earlier cycle; `pinned` is the program of its version when that
  // is not the current one (from keep()). False when its scenario is not there.
  bool restore(const EnrollmentRecord& record, const dsl::Program* pinned = nullptr);
  // An assignment of an earlier cycle in a split optimized for clicks or conversions, and
  // whether it clicked and converted: the adaptive allocation goes on from there.
  void add_split_history(const AssignmentResult& assignment);
  // Every enrollment this orchestrator knows, with its next step and due time.
  std::vector<EnrollmentRecord> enrollments() const;

private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace cvmd
