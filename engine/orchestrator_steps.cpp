#include "engine/orchestrator_impl.hpp"

namespace cvmd {

// Empty when the customer may get a message on this channel, else why not.
std::string
Orchestrator::Impl::no_consent(std::size_t i, const std::string& channel)
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

void
Orchestrator::Impl::run_step(Enrollment& e, std::size_t step_index)
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
  std::optional<Decision::Assignment> assigned;
  if (step.kind == dsl::Step::Kind::split && e.variant != "holdout") {
    const double bucket = assignment_bucket(m_state.id(e.customer), scenario.id, step.split_name);
    char numbers[64];
    const dsl::SplitVariant* chosen = nullptr;
    double probability = 0;
    if (step.optimize == dsl::Step::Optimize::none) {
      chosen = &choose_variant(step, bucket);
      probability = chosen->weight / 100;
      std::snprintf(numbers, sizeof numbers, " %g%% (bucket %.2f)", chosen->weight, bucket);
    } else {
      const auto choice = adaptive_choice(e, scenario, step, bucket);
      chosen = choice.variant;
      probability = choice.probability;
      std::snprintf(numbers, sizeof numbers, " %.2f%% (%s, bucket %.2f)", probability * 100,
                    choice.adaptive ? "optimized: probability of being best" : "warm-up", bucket);
    }
    const auto& v = *chosen;
    variant = v.name;
    e.variant = v.name;
    e.goal_from = e.goal_from.value_or(t); // every variant from its assignment, sent or held back
    assignment = "split " + step.split_name + ": " + v.name + numbers;
    assigned = Decision::Assignment{step.split_name, v.name, probability};
    send = v.send ? &*v.send : nullptr;
    if (!send) {
      auto d = decision(e, number, Action::skip, assignment + "; control: measured, never messaged");
      d.assignment = assigned;
      emit(d);
      return next();
    }
  }
  auto d = decision(e, number, Action::send, assignment);
  d.assignment = assigned;
  d.variant = variant;
  d.channel = send->channel.empty() ? "email" : send->channel;
  d.template_name = send->template_name;
  if (e.variant == "holdout") {
    d.action = Action::suppress;
    d.reason = "holdout: measured, never messaged";
    if (step.kind == dsl::Step::Kind::split) { // not assigned to any variant: no message to name
      d.channel.clear();
      d.template_name.clear();
      d.reason += " (split " + step.split_name + " not assigned)";
    }
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
  if (m_settings.policies.cap_max && count_in_window(r.sent_at, t, m_settings.policies.cap_per_seconds) >=
                                       static_cast<std::size_t>(*m_settings.policies.cap_max)) {
    d.action = Action::suppress;
    d.reason = "frequency cap: " + std::to_string(*m_settings.policies.cap_max) + " per " +
               dsl::format_duration(m_settings.policies.cap_per_seconds) + " reached";
    emit(d);
    return next();
  }
  auto& own = r.sent_by_scenario[scenario.id];
  if (scenario.cap_count &&
      count_in_window(own, t, scenario.cap_per_seconds) >= static_cast<std::size_t>(*scenario.cap_count)) {
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

std::string
Orchestrator::Impl::time_zone_of(std::size_t i) const
{
  static const auto timezone = static_cast<dsl::AttrId>(*dsl::find_attribute("timezone"));
  const auto tz = m_state.text(timezone, i);
  return tz.empty() ? m_settings.default_timezone : std::string(tz);
}

void
Orchestrator::Impl::convert(std::size_t i, const CustomerEvent& ev)
{
  const auto found = m_runtime.find(i);
  if (found == m_runtime.end()) {
    return;
  }
  for (const auto index : found->second.enrollments) {
    auto& e = m_enrollments[index];
    const auto& goal = e.program->scenarios[e.scenario].goal;
    // Judged at the event's own time: an order stored late converts if it fell in the window.
    if (!goal || e.converted || !e.goal_from || ev.at < *e.goal_from || ev.at > *e.goal_from + goal->within_seconds) {
      continue;
    }
    const bool hit = goal->kind == dsl::EventKind::ordered ? ev.type == "order"
                     : goal->kind == dsl::EventKind::did   ? ev.type == goal->name
                     : goal->kind == dsl::EventKind::opened || goal->kind == dsl::EventKind::clicked
                       ? ev.type == dsl::to_string(goal->kind) && (goal->name.empty() || goal->name == ev.name)
                       : ev.type == dsl::to_string(goal->kind);
    if (!hit) {
      continue;
    }
    e.converted = true;
    if (const auto* split = optimized_split(e.program->scenarios[e.scenario], e.variant, dsl::Step::Optimize::conversions)) {
      m_adaptive.succeeded(e.program->scenarios[e.scenario].id, split->split_name, e.variant);
    }
    auto d = decision(e, 0, Action::convert,
                      std::string("goal ") + dsl::to_string(goal->kind) + (goal->name.empty() ? "" : " " + goal->name) +
                        " within " + dsl::format_duration(goal->within_seconds) + " of " + format_time(*e.goal_from));
    d.revenue_cents = ev.type == "order" ? ev.amount_cents : 0;
    emit(d);
  }
}

} // namespace cvmd
