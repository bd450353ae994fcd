#include "engine/orchestrator.hpp"

#include "engine/experiments.hpp"
#include "engine/moment_facts.hpp"
#include "engine/time_triggers.hpp"
#include "engine/values.hpp"

#include <algorithm>
#include <cmath>
#include <queue>
#include <set>
#include <unordered_map>

namespace cvmd {

namespace {

constexpr std::int64_t day = 86400;

// What is due when. At one moment, events come first (they change the state), then state
// checks, then steps by priority (highest first): the higher priority gets the slot when
// a frequency cap leaves room for only one message.
struct Item
{
  enum class Kind : std::uint8_t { event, launch, check, step };
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
  std::string variant; // "holdout" or the variant of the split that assigned it
  std::optional<std::int64_t> goal_from; // first message (or assignment, for controls)
  bool active = true;
  bool converted = false;
  std::size_t next_step = 0;
  std::optional<std::int64_t> due_at;
};

} // namespace

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

  void run(VirtualClock& clock, std::int64_t until)
  {
    m_clock = &clock;
    const auto start = clock.now();
    for (std::size_t i = 0; i < m_state.size(); ++i) {
      check(i, start, true);
    }
    for (const auto s : m_state_scenarios) {
      const auto& from = m_program.scenarios[s].active_from;
      if (const auto opens = from ? parse_time(*from) : Result<std::int64_t>::failure(""); opens && *opens > start) {
        push({*opens, Item::Kind::launch, 0, 0, 0, 0});
      }
    }
    while (!m_agenda.empty() && m_agenda.top().at < until) {
      const auto item = m_agenda.top();
      m_agenda.pop();
      clock.advance_to(item.at);
      switch (item.kind) {
      case Item::Kind::event:
        on_event(m_events[item.a]);
        break;
      case Item::Kind::launch: // an active window opens: every customer is checked
        for (std::size_t i = 0; i < m_state.size(); ++i) {
          ++m_check_generation[i];
          check(i, item.at);
        }
        break;
      case Item::Kind::check:
        if (item.b == m_check_generation[item.a]) {
          check(item.a, item.at);
        }
        break;
      case Item::Kind::step:
        run_step(m_enrollments[item.a], static_cast<std::size_t>(item.b));
        break;
      }
    }
  }

  OrchestratorStats m_stats;

private:
  struct Runtime
  {
    std::vector<MomentFacts::Event> events;      // opened, clicked, unsubscribed, did ...
    std::vector<MomentFacts::Event> received;    // messages sent: type = template
    std::vector<std::int64_t> sent_at;            // all scenarios, ascending
    std::unordered_map<std::string, std::vector<std::int64_t>> sent_by_scenario;
    std::vector<std::size_t> enrollments;         // indexes into m_enrollments
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

  Decision decision(const Enrollment& e, int step, Action action, std::string reason) const
  {
    const auto& s = e.program->scenarios[e.scenario];
    Decision d;
    d.at = m_clock->now();
    d.customer = m_state.id(e.customer);
    d.scenario = s.id;
    d.version = s.version;
    d.step = step;
    d.action = action;
    d.variant = e.variant;
    d.reason = std::move(reason);
    d.enrollment = e.id;
    return d;
  }

  // Conditions in plain words for the reasons, worded once per condition: a launch writes
  // the same reason for a million customers.
  const std::string& described(const dsl::Condition& c, const dsl::Program& program)
  {
    auto [it, added] = m_described.try_emplace(&c);
    if (added) {
      it->second = dsl::describe(c, program);
    }
    return it->second;
  }

  bool holds(const dsl::Condition& c, std::size_t i, std::int64_t t, const Enrollment* e)
  {
    const auto& program = e ? *e->program : m_program;
    if (c.always()) {
      return true;
    }
    ++m_stats.evaluations;
    const auto found = m_runtime.find(i);
    MomentFacts facts(m_state, program, i, t);
    if (found != m_runtime.end()) {
      facts.set_history(&found->second.events, &found->second.received);
    }
    if (e) {
      facts.set_entry(e->entered_at);
    }
    return dsl::evaluate(c, program, facts);
  }

  bool in_active_window(const dsl::Scenario& s, std::int64_t t) const
  {
    if (!s.active_from && !s.active_to) {
      return true;
    }
    const auto date = format_date(t);
    return (!s.active_from || date >= *s.active_from) && (!s.active_to || date <= *s.active_to);
  }

  // The state-triggered scenarios for one customer at t: enter where `when` turned true.
  void check(std::size_t i, std::int64_t t, bool resuming = false)
  {
    m_was_true.resize(std::max(m_was_true.size(), m_state.size() * m_state_scenarios.size()), 0);
    m_check_generation.resize(std::max(m_check_generation.size(), m_state.size()), 0);
    for (std::size_t k = 0; k < m_state_scenarios.size(); ++k) {
      const auto s = m_state_scenarios[k];
      auto& was = m_was_true[i * m_state_scenarios.size() + k];
      if (!in_active_window(m_program.scenarios[s], t)) {
        was = 0; // when the window opens, everyone who matches then enters, as at a launch
        continue;
      }
      const bool now_true = holds(m_program.scenarios[s].when, i, t, nullptr);
      if (now_true && !was && !(resuming && m_launched.count(m_program.scenarios[s].id))) {
        try_enter(s, i, t, "when " + described(m_program.scenarios[s].when, m_program) + " became true");
      }
      was = now_true;
    }
    if (m_state.has_orders(i)) {
      if (const auto next = m_triggers.next_after(t, m_state.first_order_at(i), m_state.last_order_at(i))) {
        push({*next, Item::Kind::check, 0, 0, i, m_check_generation[i]});
      }
    }
  }

  void try_enter(std::size_t s, std::size_t i, std::int64_t t, std::string reason)
  {
    const auto& scenario = m_program.scenarios[s];
    if (!in_active_window(scenario, t)) {
      return;
    }
    auto& r = runtime(i);
    std::optional<std::int64_t> last_entry;
    if (const auto past = r.last_entry.find(scenario.id); past != r.last_entry.end()) {
      last_entry = past->second;
    }
    for (const auto index : r.enrollments) {
      const auto& other = m_enrollments[index];
      if (other.program->scenarios[other.scenario].id != scenario.id) {
        continue;
      }
      if (other.active) {
        return; // already in, on this or an older version
      }
      last_entry = std::max(last_entry.value_or(other.entered_at), other.entered_at);
    }
    if (last_entry && (scenario.once || t < *last_entry + scenario.reenter_after_seconds)) {
      return;
    }
    Enrollment e;
    e.id = ++m_last_id;
    e.index = m_enrollments.size();
    e.customer = i;
    e.program = &m_program;
    e.scenario = s;
    e.entered_at = t;
    if (scenario.holdout_percent > 0) {
      const double bucket = assignment_bucket(m_state.id(i), scenario.id, "holdout");
      if (bucket < scenario.holdout_percent) {
        e.variant = "holdout";
        e.goal_from = t; // controls are followed from their assignment
        char p[64];
        std::snprintf(p, sizeof p, "; holdout %g%% (bucket %.2f)", scenario.holdout_percent, bucket);
        reason += p;
      }
    }
    m_enrollments.push_back(e);
    r.enrollments.push_back(m_enrollments.size() - 1);
    ++m_stats.enrollments;
    emit(decision(m_enrollments.back(), 0, Action::enter, reason));
    schedule_step(m_enrollments.size() - 1, 0, t);
  }

  void schedule_step(std::size_t enrollment, std::size_t step, std::int64_t from)
  {
    auto& e = m_enrollments[enrollment];
    const auto& scenario = e.program->scenarios[e.scenario];
    if (step >= scenario.steps.size()) {
      end(e);
      emit(decision(e, 0, Action::exit, "completed: no steps left"));
      return;
    }
    plan_step(e, step, from + scenario.steps[step].delay_seconds);
  }

  void plan_step(Enrollment& e, std::size_t step, std::int64_t at)
  {
    e.next_step = step;
    e.due_at = at;
    push({at, Item::Kind::step, e.program->scenarios[e.scenario].priority, 0, e.index, step});
  }

  void end(Enrollment& e)
  {
    e.active = false;
    e.due_at.reset();
  }

  // Empty when the customer may get a message on this channel, else why not.
  std::string no_consent(std::size_t i, const std::string& channel)
  {
    static const auto email_consent = static_cast<dsl::AttrId>(*dsl::find_attribute("email_consent"));
    static const auto sms_consent = static_cast<dsl::AttrId>(*dsl::find_attribute("sms_consent"));
    if (const auto found = m_runtime.find(i); found != m_runtime.end()) {
      for (const auto& ev : found->second.events) {
        if (ev.type == "unsubscribed" && ev.at <= m_clock->now() && (ev.name.empty() || ev.name == channel)) {
          return "unsubscribed" + (ev.name.empty() ? std::string() : " from " + ev.name) + " on " + format_time(ev.at);
        }
      }
    }
    if ((channel == "email" && !m_state.flag(email_consent, i)) || (channel == "sms" && !m_state.flag(sms_consent, i))) {
      return "no " + channel + " consent";
    }
    return {}; // webhooks reach the shop, not the customer
  }

  void run_step(Enrollment& e, std::size_t step_index)
  {
    if (!e.active || e.due_at != m_clock->now() || e.next_step != step_index) {
      return; // a step planned before a deferral or a restore: superseded
    }
    const auto t = m_clock->now();
    const auto& program = *e.program;
    const auto& scenario = program.scenarios[e.scenario];
    const auto& step = scenario.steps[step_index];
    const int number = static_cast<int>(step_index) + 1;
    const auto enrollment_index = e.index;
    e.due_at.reset();
    if (!scenario.exit.always() && holds(scenario.exit, e.customer, t, &e)) {
      end(e);
      emit(decision(e, number, Action::exit, "exit when " + described(scenario.exit, program)));
      return;
    }
    const auto next = [&] { schedule_step(enrollment_index, step_index + 1, t); };
    if (!in_active_window(scenario, t)) {
      emit(decision(e, number, Action::skip, "outside the active window"));
      return next();
    }
    if (!holds(step.condition, e.customer, t, &e)) {
      emit(decision(e, number, Action::skip, "condition false: " + described(step.condition, program)));
      return next();
    }
    const dsl::SendAction* send = &step.send;
    std::string variant = e.variant;
    std::string assignment;
    if (step.kind == dsl::Step::Kind::split && e.variant != "holdout") {
      const double bucket = assignment_bucket(m_state.id(e.customer), scenario.id, step.split_name);
      const auto& v = choose_variant(step, bucket);
      variant = v.name;
      e.variant = v.name;
      char p[96];
      std::snprintf(p, sizeof p, "split %s: %s %g%% (bucket %.2f)", step.split_name.c_str(), v.name.c_str(), v.weight,
                    bucket);
      assignment = p;
      send = v.send ? &*v.send : nullptr;
      if (!send) {
        e.goal_from = e.goal_from.value_or(t);
        auto d = decision(e, number, Action::skip, assignment + "; control: measured, never messaged");
        emit(d);
        return next();
      }
    }
    auto d = decision(e, number, Action::send, assignment);
    d.variant = variant;
    d.channel = send->channel.empty() ? "email" : send->channel;
    d.template_name = send->template_name;
    if (e.variant == "holdout") {
      d.action = Action::suppress;
      d.reason = "holdout: measured, never messaged";
      emit(d);
      return next();
    }
    if (const auto why = no_consent(e.customer, d.channel); !why.empty()) {
      d.action = Action::suppress;
      d.reason = (assignment.empty() ? "" : assignment + "; ") + why;
      emit(d);
      return next();
    }
    const auto quiet = scenario.quiet_from_minute
                         ? std::optional<QuietHours>(QuietHours{*scenario.quiet_from_minute, *scenario.quiet_to_minute})
                         : m_settings.policies.quiet_hours;
    if (quiet) {
      const auto tz = time_zone_of(e.customer);
      const auto allowed = next_allowed(t, *quiet, tz);
      if (allowed != t) {
        d.action = Action::defer;
        d.reason = "quiet hours " + format_quiet_hours(*quiet) + " in " + tz + ": until " + format_time(allowed);
        emit(d);
        plan_step(e, step_index, allowed);
        return;
      }
    }
    auto& r = runtime(e.customer);
    if (m_settings.policies.cap_max &&
        count_in_window(r.sent_at, t, m_settings.policies.cap_per_seconds) >= static_cast<std::size_t>(*m_settings.policies.cap_max)) {
      d.action = Action::suppress;
      d.reason = "frequency cap: " + std::to_string(*m_settings.policies.cap_max) + " per " +
                 dsl::format_duration(m_settings.policies.cap_per_seconds) + " reached";
      emit(d);
      return next();
    }
    auto& own = r.sent_by_scenario[scenario.id];
    if (scenario.cap_count && count_in_window(own, t, scenario.cap_per_seconds) >= static_cast<std::size_t>(*scenario.cap_count)) {
      d.action = Action::suppress;
      d.reason = "scenario cap: " + std::to_string(*scenario.cap_count) + " per " +
                 dsl::format_duration(scenario.cap_per_seconds) + " reached";
      emit(d);
      return next();
    }
    d.key = scenario.id + ":" + scenario.version + ":" + m_state.id(e.customer) + ":" + std::to_string(e.id) + ":" +
            std::to_string(number);
    if (d.reason.empty()) {
      d.reason = "due";
    }
    r.sent_at.push_back(t);
    own.push_back(t);
    r.received.push_back({d.template_name, "", t});
    e.goal_from = e.goal_from.value_or(t);
    emit(d);
    next();
  }

  std::string time_zone_of(std::size_t i) const
  {
    static const auto timezone = static_cast<dsl::AttrId>(*dsl::find_attribute("timezone"));
    const auto tz = m_state.text(timezone, i);
    return tz.empty() ? m_settings.default_timezone : std::string(tz);
  }

  void on_event(const CustomerEvent& ev)
  {
    const auto t = m_clock->now();
    const auto i = m_state.ensure_customer(ev.customer_id);
    const bool order = ev.type == "order";
    bool first_order = false;
    if (order) {
      first_order = !m_state.has_orders(i);
      OrderRow row;
      row.order_id = ev.order_id;
      row.customer_id = ev.customer_id;
      row.ordered_at = t;
      row.amount_cents = ev.amount_cents;
      m_state.add_order(row);
    } else {
      runtime(i).events.push_back({ev.type, ev.name, t});
    }
    // Goals and exits see the event before anything new starts.
    convert(i, ev);
    if (const auto found = m_runtime.find(i); found != m_runtime.end()) {
      for (const auto index : found->second.enrollments) {
        auto& e = m_enrollments[index];
        const auto& scenario = e.program->scenarios[e.scenario];
        if (e.active && !scenario.exit.always() && holds(scenario.exit, i, t, &e)) {
          end(e);
          emit(decision(e, 0, Action::exit, "exit when " + described(scenario.exit, *e.program) + " (on " + ev.type + ")"));
        }
      }
    }
    for (std::size_t s = 0; s < m_program.scenarios.size(); ++s) {
      const auto& scenario = m_program.scenarios[s];
      if (scenario.entry != dsl::Scenario::Entry::event) {
        continue;
      }
      const bool matches = scenario.on_event == ev.type || (first_order && scenario.on_event == "first_order");
      if (matches && holds(scenario.where, i, t, nullptr)) {
        try_enter(s, i, t, "on " + scenario.on_event);
      }
    }
    if (m_check_generation.size() <= i) {
      m_check_generation.resize(i + 1, 0);
    }
    ++m_check_generation[i]; // the times of the next checks moved with the order
    check(i, t);
  }

  void convert(std::size_t i, const CustomerEvent& ev)
  {
    const auto found = m_runtime.find(i);
    if (found == m_runtime.end()) {
      return;
    }
    const auto t = m_clock->now();
    for (const auto index : found->second.enrollments) {
      auto& e = m_enrollments[index];
      const auto& goal = e.program->scenarios[e.scenario].goal;
      if (!goal || e.converted || !e.goal_from || t < *e.goal_from || t > *e.goal_from + goal->within_seconds) {
        continue;
      }
      const bool hit = goal->kind == dsl::EventKind::ordered ? ev.type == "order"
                       : goal->kind == dsl::EventKind::did ? ev.type == goal->name
                       : goal->kind == dsl::EventKind::opened || goal->kind == dsl::EventKind::clicked
                         ? ev.type == dsl::to_string(goal->kind) && (goal->name.empty() || goal->name == ev.name)
                         : ev.type == dsl::to_string(goal->kind);
      if (!hit) {
        continue;
      }
      e.converted = true;
      auto d = decision(e, 0, Action::convert,
                        std::string("goal ") + dsl::to_string(goal->kind) + (goal->name.empty() ? "" : " " + goal->name) +
                          " within " + dsl::format_duration(goal->within_seconds) + " of " + format_time(*e.goal_from));
      d.revenue_cents = ev.type == "order" ? ev.amount_cents : 0;
      emit(d);
    }
  }

  const dsl::Program& m_program;
  CustomerState& m_state;
  OrchestratorSettings m_settings;
  DecisionSink m_sink;
  VirtualClock* m_clock = nullptr;
  std::vector<std::size_t> m_state_scenarios;
  TimeTriggers m_triggers;
  std::vector<std::uint8_t> m_was_true; // customer × state scenario
  std::vector<std::uint64_t> m_check_generation;
  std::vector<CustomerEvent> m_events;
  std::vector<Enrollment> m_enrollments;
  std::unordered_map<std::size_t, Runtime> m_runtime;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> m_agenda;
  std::uint64_t m_seq = 0;
  std::unordered_map<const dsl::Condition*, std::string> m_described;
  std::uint64_t m_last_id = 0;
  std::set<std::string> m_launched;
  std::vector<std::unique_ptr<dsl::Program>> m_pinned; // older versions of enrollments in flight

public:
  void set_launched(std::set<std::string> launched) { m_launched = std::move(launched); }
  void set_last_enrollment_id(std::uint64_t id) { m_last_id = id; }

  void add_past_entry(const std::string& customer_id, const std::string& scenario, std::int64_t at)
  {
    auto& last = runtime(m_state.ensure_customer(customer_id)).last_entry[scenario];
    last = std::max(last, at);
  }

  void add_sent(const OutboxMessage& m)
  {
    auto& r = runtime(m_state.ensure_customer(m.customer_id));
    r.sent_at.insert(std::upper_bound(r.sent_at.begin(), r.sent_at.end(), m.due_at), m.due_at);
    auto& own = r.sent_by_scenario[m.scenario];
    own.insert(std::upper_bound(own.begin(), own.end(), m.due_at), m.due_at);
    r.received.push_back({m.template_name, "", m.due_at});
  }

  bool restore(const EnrollmentRecord& record, const dsl::Program* program)
  {
    if (!program) {
      program = &m_program;
    }
    const auto* scenario = program->find_scenario(record.scenario);
    if (!scenario) {
      return false;
    }
    Enrollment e;
    e.id = record.id;
    e.index = m_enrollments.size();
    e.customer = m_state.ensure_customer(record.customer_id);
    e.program = program;
    e.scenario = static_cast<std::size_t>(scenario - program->scenarios.data());
    e.entered_at = record.entered_at;
    e.variant = record.variant;
    e.goal_from = record.goal_from;
    e.converted = record.converted;
    e.active = record.active;
    m_last_id = std::max(m_last_id, e.id);
    m_enrollments.push_back(e);
    runtime(e.customer).enrollments.push_back(e.index);
    if (e.active && record.due_at) {
      plan_step(m_enrollments.back(), record.next_step, *record.due_at);
    }
    return true;
  }

  const dsl::Program* keep(std::unique_ptr<dsl::Program> program)
  {
    m_pinned.push_back(std::move(program));
    return m_pinned.back().get();
  }

  std::vector<EnrollmentRecord> records() const
  {
    std::vector<EnrollmentRecord> out;
    for (const auto& e : m_enrollments) {
      const auto& s = e.program->scenarios[e.scenario];
      out.push_back({e.id, m_state.id(e.customer), s.id, s.version, e.variant, e.entered_at, e.goal_from, e.converted,
                     e.active, e.next_step, e.due_at});
    }
    return out;
  }
};

Orchestrator::Orchestrator(const dsl::Program& program, CustomerState& state, OrchestratorSettings settings,
                           DecisionSink sink)
  : m_impl(std::make_unique<Impl>(program, state, std::move(settings), std::move(sink)))
{
}

Orchestrator::~Orchestrator() = default;

void
Orchestrator::add_history(const CustomerEvent& event)
{
  m_impl->add_history(event);
}

void
Orchestrator::schedule(const CustomerEvent& event)
{
  m_impl->schedule(event);
}

void
Orchestrator::run(VirtualClock& clock, std::int64_t until)
{
  m_impl->run(clock, until);
}

void
Orchestrator::set_launched(std::set<std::string> scenario_ids)
{
  m_impl->set_launched(std::move(scenario_ids));
}

void
Orchestrator::set_last_enrollment_id(std::uint64_t id)
{
  m_impl->set_last_enrollment_id(id);
}

void
Orchestrator::add_past_entry(const std::string& customer_id, const std::string& scenario_id, std::int64_t at)
{
  m_impl->add_past_entry(customer_id, scenario_id, at);
}

void
Orchestrator::add_sent(const OutboxMessage& message)
{
  m_impl->add_sent(message);
}

bool
Orchestrator::restore(const EnrollmentRecord& record, std::unique_ptr<dsl::Program> pinned)
{
  const dsl::Program* program = pinned ? m_impl->keep(std::move(pinned)) : nullptr;
  return m_impl->restore(record, program);
}

std::vector<EnrollmentRecord>
Orchestrator::enrollments() const
{
  return m_impl->records();
}

const OrchestratorStats&
Orchestrator::stats() const
{
  return m_impl->m_stats;
}

} // namespace cvmd
