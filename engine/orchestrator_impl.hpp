#pragma once
// The orchestrator's inside, shared by orchestrator.cpp (entries, events, the run loop,
// the durable plan) and orchestrator_steps.cpp (a due step under the policies, consent,
// conversions). Not for use outside these two files.

#include "engine/orchestrator.hpp"

#include "engine/adaptive_split.hpp"
#include "engine/experiments.hpp"
#include "engine/moment_facts.hpp"
#include "engine/time_triggers.hpp"
#include "engine/values.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace cvmd {

namespace orchestration {

constexpr std::int64_t day = 86400;

// What is due when. At one moment, events come first (they change the state), then state
// checks, then steps by priority (highest first): the higher priority gets the slot when
// a frequency cap leaves room for only one message.
struct Item
{
  enum class Kind : std::uint8_t
  {
    event,
    refresh,
    launch,
    check,
    step
  };
  std::int64_t at = 0;
  Kind kind = Kind::event;
  int priority = 0;
  std::uint64_t seq = 0;
  std::uint64_t a = 0; // event index | customer | enrollment
  std::uint64_t b = 0; // -           | check generation | step index

  bool operator>(const Item& o) const
  {
    if (at != o.at) {
      return at > o.at;
    }
    if (kind != o.kind) {
      return kind > o.kind;
    }
    if (priority != o.priority) {
      return priority < o.priority;
    }
    return seq > o.seq;
  }
};

struct Enrollment
{
  std::uint64_t id = 0;
  std::size_t index = 0; // in the orchestrator's list
  std::size_t customer = 0;
  const dsl::Program* program = nullptr; // the version it started on
  std::size_t scenario = 0;              // in that program
  std::int64_t entered_at = 0;
  std::string variant;                   // "holdout" or the variant of the split that assigned it
  std::optional<std::int64_t> goal_from; // first message (or assignment, for controls)
  bool active = true;
  bool converted = false;
  std::size_t next_step = 0;
  std::optional<std::int64_t> due_at;
};

} // namespace orchestration

using orchestration::Enrollment;
using orchestration::Item;

class Orchestrator::Impl
{
public:
  Impl(const dsl::Program& program, CustomerState& state, OrchestratorSettings settings, DecisionSink sink)
    : m_program(program), m_state(state), m_settings(std::move(settings)), m_sink(std::move(sink))
  {
    for (std::size_t s = 0; s < program.scenarios.size(); ++s) {
      if (program.scenarios[s].entry == dsl::Scenario::Entry::state) {
        m_state_scenarios.push_back(s);
        m_triggers.collect(program.scenarios[s].when, program, state.config());
      }
    }
    m_triggers.finish();
  }

  void add_history(const CustomerEvent& e)
  {
    const auto i = m_state.ensure_customer(e.customer_id);
    runtime(i).events.push_back({e.type, e.name, e.at});
  }

  void schedule(const CustomerEvent& e)
  {
    m_events.push_back(e);
    push({e.at, Item::Kind::event, 0, 0, m_events.size() - 1, 0});
  }

  void run(VirtualClock& clock, std::int64_t until);

  OrchestratorStats m_stats;

private:
  struct Runtime
  {
    std::vector<MomentFacts::Event> events;   // opened, clicked, unsubscribed, did ...
    std::vector<MomentFacts::Event> received; // messages sent: type = template
    std::vector<std::int64_t> sent_at;        // all scenarios, ascending
    std::unordered_map<std::string, std::vector<std::int64_t>> sent_by_scenario;
    std::vector<std::size_t> enrollments;                     // indexes into m_enrollments
    std::unordered_map<std::string, std::int64_t> last_entry; // earlier cycles: scenario -> last entry
  };

  Runtime& runtime(std::size_t i) { return m_runtime[i]; }

  void push(Item item)
  {
    item.seq = m_seq++;
    m_agenda.push(item);
  }

  void emit(Decision d)
  {
    ++m_stats.decisions;
    m_sink(d);
  }

  Decision decision(const Enrollment& e, int step, Action action, std::string reason) const;

  // Conditions in plain words for the reasons, worded once per condition: a launch writes
  // the same reason for a million customers.
  const std::string& described(const dsl::Condition& c, const dsl::Program& program);

  bool holds(const dsl::Condition& c, std::size_t i, std::int64_t t, const Enrollment* e);

  bool in_active_window(const dsl::Scenario& s, std::int64_t t) const;

  // The state-triggered scenarios for one customer at t: enter where `when` turned true.
  void check(std::size_t i, std::int64_t t, bool resuming = false);

  void try_enter(std::size_t s, std::size_t i, std::int64_t t, std::string reason);

  void schedule_step(std::size_t enrollment, std::size_t step, std::int64_t from);

  void plan_step(Enrollment& e, std::size_t step, std::int64_t at);

  void end(Enrollment& e)
  {
    e.active = false;
    e.due_at.reset();
  }

  // Empty when the customer may get a message on this channel, else why not.
  std::string no_consent(std::size_t i, const std::string& channel);

  void run_step(Enrollment& e, std::size_t step_index);

  std::string time_zone_of(std::size_t i) const;

  void on_event(const CustomerEvent& ev);

  void convert(std::size_t i, const CustomerEvent& ev);

  // Splits optimized for clicks or conversions (orchestrator_splits.cpp).
  SplitChoice adaptive_choice(Enrollment& e, const dsl::Scenario& scenario, const dsl::Step& step, double bucket);
  void count_click(std::size_t i, const CustomerEvent& ev);

  const dsl::Program& m_program;
  CustomerState& m_state;
  OrchestratorSettings m_settings;
  DecisionSink m_sink;
  VirtualClock* m_clock = nullptr;
  std::vector<std::size_t> m_state_scenarios;
  TimeTriggers m_triggers;
  std::vector<std::uint8_t> m_was_true; // customer × state scenario
  static constexpr std::int64_t no_check = std::numeric_limits<std::int64_t>::max();
  std::vector<std::int64_t> m_pending_check; // per customer: the moment of its next check
  std::deque<CustomerEvent> m_events; // a deque: a decision sink may schedule events while one is handled
  std::vector<Enrollment> m_enrollments;
  std::unordered_map<std::size_t, Runtime> m_runtime;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> m_agenda;
  std::uint64_t m_seq = 0;
  std::unordered_map<const dsl::Condition*, std::string> m_described;
  std::uint64_t m_last_id = 0;
  std::set<std::string> m_launched;
  std::set<std::string> m_remembered; // scenarios whose matches at the last cycle's end are known
  std::vector<std::unique_ptr<dsl::Program>> m_pinned; // older versions of enrollments in flight

  // Optimized splits: assignments and successes so far, the enrollments whose click
  // counted, and each enrollment's assignment per split (a step held back and run again, in
  // this cycle or a later one, keeps the variant it was given).
  AdaptiveSplits m_adaptive;
  std::unordered_set<std::uint64_t> m_clicked;
  std::map<std::pair<std::uint64_t, std::string>, std::pair<std::string, double>> m_assigned;

public:
  void set_launched(std::set<std::string> launched) { m_launched = std::move(launched); }
  void set_remembered(std::set<std::string> scenarios) { m_remembered = std::move(scenarios); }
  void set_last_enrollment_id(std::uint64_t id) { m_last_id = id; }

  void add_past_entry(const std::string& customer_id, const std::string& scenario, std::int64_t at)
  {
    auto& last = runtime(m_state.ensure_customer(customer_id)).last_entry[scenario];
    last = std::max(last, at);
  }

  void add_sent(const OutboxMessage& m);
  void remember_match(const std::string& scenario, const std::string& customer_id);
  std::vector<std::pair<std::string, std::vector<std::string>>> matches() const;

  bool restore(const EnrollmentRecord& record, const dsl::Program* program);

  const dsl::Program* keep(std::unique_ptr<dsl::Program> program)
  {
    m_pinned.push_back(std::move(program));
    return m_pinned.back().get();
  }

  std::vector<EnrollmentRecord> records() const;

  void add_split_history(const AssignmentResult& assignment);
};

} // namespace cvmd
