#include "engine/orchestrator_impl.hpp"

namespace cvmd {

void
Orchestrator::Impl::run(VirtualClock& clock, std::int64_t until)
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
  const auto every = m_settings.rankings_refresh_seconds;
  if (every > 0 && m_triggers.rankings) {
    push({(start / every + 1) * every, Item::Kind::refresh, 0, 0, 0, 0});
  }
  while (!m_agenda.empty() && m_agenda.top().at < until) {
    const auto item = m_agenda.top();
    m_agenda.pop();
    clock.advance_to(item.at);
    switch (item.kind) {
    case Item::Kind::event:
      on_event(m_events[item.a]);
      break;
    case Item::Kind::refresh: // the rankings move: whoever now matches enters
      m_state.advance_to(item.at);
      ++m_stats.refreshes;
      for (std::size_t i = 0; i < m_state.size(); ++i) {
        check(i, item.at);
      }
      push({item.at + m_settings.rankings_refresh_seconds, Item::Kind::refresh, 0, 0, 0, 0});
      break;
    case Item::Kind::launch: // an active window opens: every customer is checked
      for (std::size_t i = 0; i < m_state.size(); ++i) {
        check(i, item.at);
      }
      break;
    case Item::Kind::check:
      if (item.at == m_pending_check[item.a]) { // else superseded by an earlier one
        m_pending_check[item.a] = no_check;
        check(item.a, item.at);
      }
      break;
    case Item::Kind::step:
      run_step(m_enrollments[item.a], static_cast<std::size_t>(item.b));
      break;
    }
  }
}

Decision
Orchestrator::Impl::decision(const Enrollment& e, int step, Action action, std::string reason) const
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
const std::string&
Orchestrator::Impl::described(const dsl::Condition& c, const dsl::Program& program)
{
  auto [it, added] = m_described.try_emplace(&c);
  if (added) {
    it->second = dsl::describe(c, program);
  }
  return it->second;
}

bool
Orchestrator::Impl::holds(const dsl::Condition& c, std::size_t i, std::int64_t t, const Enrollment* e)
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

bool
Orchestrator::Impl::in_active_window(const dsl::Scenario& s, std::int64_t t) const
{
  if (!s.active_from && !s.active_to) {
    return true;
  }
  const auto date = format_date(t);
  return (!s.active_from || date >= *s.active_from) && (!s.active_to || date <= *s.active_to);
}

// The state-triggered scenarios for one customer at t: enter where `when` turned true.
void
Orchestrator::Impl::check(std::size_t i, std::int64_t t, bool resuming)
{
  m_was_true.resize(std::max(m_was_true.size(), m_state.size() * m_state_scenarios.size()), 0);
  m_pending_check.resize(std::max(m_pending_check.size(), m_state.size()), no_check);
  for (std::size_t k = 0; k < m_state_scenarios.size(); ++k) {
    const auto s = m_state_scenarios[k];
    auto& was = m_was_true[i * m_state_scenarios.size() + k];
    if (!in_active_window(m_program.scenarios[s], t)) {
      was = 0; // when the window opens, everyone who matches then enters, as at a launch
      continue;
    }
    const bool now_true = holds(m_program.scenarios[s].when, i, t, nullptr);
    // Resuming: a scenario launched before enters only whom it did not match at the end of
    // the last cycle (remembered), or, when no memory was kept, nobody at this moment.
    const auto& id = m_program.scenarios[s].id;
    const bool silent = resuming && m_launched.count(id) && !m_remembered.count(id);
    if (now_true && !was && !silent) {
      try_enter(s, i, t, "when " + described(m_program.scenarios[s].when, m_program) + " became true");
    }
    was = now_true;
  }
  // One pending check per customer: the earliest. Orders only move trigger moments later,
  // so an earlier pending check fires, finds nothing new and plans the next one.
  if (m_state.has_orders(i)) {
    if (const auto next = m_triggers.next_after(t, m_state.first_order_at(i), m_state.last_order_at(i));
        next && *next < m_pending_check[i]) {
      m_pending_check[i] = *next;
      push({*next, Item::Kind::check, 0, 0, i, 0});
    }
  }
}

void
Orchestrator::Impl::try_enter(std::size_t s, std::size_t i, std::int64_t t, std::string reason)
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
  std::string assigned;
  if (scenario.holdout_percent > 0) {
    const double bucket = assignment_bucket(m_state.id(i), scenario.id, "holdout");
    assigned = bucket < scenario.holdout_percent ? "holdout" : "messaged";
    // Both groups are followed from their assignment: a messaged customer whose message is
    // held back (consent, caps, quiet hours) still counts for that group, or the comparison
    // would favour the holdout.
    e.goal_from = t;
    if (bucket < scenario.holdout_percent) {
      e.variant = "holdout";
      char p[64];
      std::snprintf(p, sizeof p, "; holdout %g%% (bucket %.2f)", scenario.holdout_percent, bucket);
      reason += p;
    }
  }
  m_enrollments.push_back(e);
  r.enrollments.push_back(m_enrollments.size() - 1);
  ++m_stats.enrollments;
  auto entered = decision(m_enrollments.back(), 0, Action::enter, reason);
  if (!assigned.empty()) {
    entered.assignment = Decision::Assignment{
      "holdout", assigned, (assigned == "holdout" ? scenario.holdout_percent : 100 - scenario.holdout_percent) / 100};
  }
  emit(entered);
  schedule_step(m_enrollments.size() - 1, 0, t);
}

void
Orchestrator::Impl::schedule_step(std::size_t enrollment, std::size_t step, std::int64_t from)
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

void
Orchestrator::Impl::plan_step(Enrollment& e, std::size_t step, std::int64_t at)
{
  e.next_step = step;
  e.due_at = at;
  push({at, Item::Kind::step, e.program->scenarios[e.scenario].priority, 0, e.index, step});
}

void
Orchestrator::Impl::on_event(const CustomerEvent& ev)
{
  const auto t = m_clock->now();
  const auto i = m_state.ensure_customer(ev.customer_id);
  const bool order = ev.type == "order";
  bool first_order = false;
  if (order && ev.late) {
    first_order = m_state.first_order_at(i) == ev.at;
  } else if (order) {
    first_order = !m_state.has_orders(i);
    OrderRow row;
    row.order_id = ev.order_id;
    row.customer_id = ev.customer_id;
    row.ordered_at = t;
    row.amount_cents = ev.amount_cents;
    m_state.add_order(row);
  } else if (!ev.late) {
    runtime(i).events.push_back({ev.type, ev.name, t});
  }
  // Goals and exits see the event before anything new starts.
  convert(i, ev);
  if (ev.type == "clicked") {
    count_click(i, ev);
  }
  if (const auto found = m_runtime.find(i); found != m_runtime.end()) {
    for (const auto index : found->second.enrollments) {
      auto& e = m_enrollments[index];
      const auto& scenario = e.program->scenarios[e.scenario];
      if (e.active && !scenario.exit.always() && holds(scenario.exit, i, t, &e)) {
        end(e);
        emit(
          decision(e, 0, Action::exit, "exit when " + described(scenario.exit, *e.program) + " (on " + ev.type + ")"));
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
  check(i, t);
}

void
Orchestrator::Impl::remember_match(const std::string& scenario, const std::string& customer_id)
{
  const auto i = m_state.ensure_customer(customer_id);
  for (std::size_t k = 0; k < m_state_scenarios.size(); ++k) {
    if (m_program.scenarios[m_state_scenarios[k]].id == scenario) {
      m_was_true.resize(std::max(m_was_true.size(), m_state.size() * m_state_scenarios.size()), 0);
      m_was_true[i * m_state_scenarios.size() + k] = 1;
    }
  }
}

std::vector<std::pair<std::string, std::vector<std::string>>>
Orchestrator::Impl::matches() const
{
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (std::size_t k = 0; k < m_state_scenarios.size(); ++k) {
    auto& [scenario, customers] = out.emplace_back(m_program.scenarios[m_state_scenarios[k]].id, std::vector<std::string>());
    for (std::size_t i = 0; i < m_state.size(); ++i) {
      const auto at = i * m_state_scenarios.size() + k;
      if (at < m_was_true.size() && m_was_true[at]) {
        customers.push_back(m_state.id(i));
      }
    }
  }
  return out;
}

void
Orchestrator::Impl::add_sent(const OutboxMessage& m)
{
  auto& r = runtime(m_state.ensure_customer(m.customer_id));
  r.sent_at.insert(std::upper_bound(r.sent_at.begin(), r.sent_at.end(), m.due_at), m.due_at);
  auto& own = r.sent_by_scenario[m.scenario];
  own.insert(std::upper_bound(own.begin(), own.end(), m.due_at), m.due_at);
  r.received.push_back({m.template_name, "", m.due_at});
}

bool
Orchestrator::Impl::restore(const EnrollmentRecord& record, const dsl::Program* program)
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

std::vector<EnrollmentRecord>
Orchestrator::Impl::records() const
{
  std::vector<EnrollmentRecord> out;
  for (const auto& e : m_enrollments) {
    const auto& s = e.program->scenarios[e.scenario];
    out.push_back({e.id, m_state.id(e.customer), s.id, s.version, e.variant, e.entered_at, e.goal_from, e.converted,
                   e.active, e.next_step, e.due_at});
  }
  return out;
}

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

void
Orchestrator::set_remembered(std::set<std::string> scenario_ids)
{
  m_impl->set_remembered(std::move(scenario_ids));
}

void
Orchestrator::remember_match(const std::string& scenario_id, const std::string& customer_id)
{
  m_impl->remember_match(scenario_id, customer_id);
}

std::vector<std::pair<std::string, std::vector<std::string>>>
Orchestrator::matches() const
{
  return m_impl->matches();
}

const dsl::Program*
Orchestrator::keep(std::unique_ptr<dsl::Program> program)
{
  return m_impl->keep(std::move(program));
}

bool
Orchestrator::restore(const EnrollmentRecord& record, const dsl::Program* pinned)
{
  return m_impl->restore(record, pinned);
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

void
Orchestrator::add_split_history(const AssignmentResult& assignment)
{
  m_impl->add_split_history(assignment);
}

} // namespace cvmd
