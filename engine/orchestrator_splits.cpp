// Splits optimized for clicks or conversions inside the orchestrator: an enrollment is
// assigned once per split (a step held back by quiet hours and run again keeps its
// variant), and a click counts for the enrollment whose message it was, once.

#include "engine/orchestrator_impl.hpp"

namespace cvmd {

SplitChoice
Orchestrator::Impl::adaptive_choice(Enrollment& e, const dsl::Scenario& scenario, const dsl::Step& step, double bucket)
{
  const auto key = std::pair{e.id, step.split_name};
  if (const auto earlier = m_assigned.find(key); earlier != m_assigned.end()) {
    for (const auto& v : step.variants) {
      if (v.name == earlier->second.first) {
        return {&v, earlier->second.second, true};
      }
    }
  }
  const auto choice = m_adaptive.choose(scenario.id, step, bucket);
  m_adaptive.assigned(scenario.id, step.split_name, choice.variant->name);
  m_assigned[key] = {choice.variant->name, choice.probability};
  return choice;
}

void
Orchestrator::Impl::count_click(std::size_t i, const CustomerEvent& ev)
{
  const auto found = m_runtime.find(i);
  if (found == m_runtime.end() || ev.message_key.empty()) {
    return; // a click that names no message of ours says nothing about a variant
  }
  for (const auto index : found->second.enrollments) {
    auto& e = m_enrollments[index];
    const auto& scenario = e.program->scenarios[e.scenario];
    // Keys are scenario:version:customer:enrollment:step.
    const auto prefix =
      scenario.id + ":" + scenario.version + ":" + m_state.id(e.customer) + ":" + std::to_string(e.id) + ":";
    if (ev.message_key.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    const auto* split = optimized_split(scenario, e.variant, dsl::Step::Optimize::clicks);
    if (split && m_clicked.insert(e.id).second) {
      m_adaptive.succeeded(scenario.id, split->split_name, e.variant);
    }
  }
}

void
Orchestrator::Impl::add_split_history(const AssignmentResult& a)
{
  const auto* s = m_program.find_scenario(a.scenario);
  if (!s) {
    return;
  }
  for (const auto& step : s->steps) {
    if (step.kind != dsl::Step::Kind::split || step.split_name != a.experiment ||
        step.optimize == dsl::Step::Optimize::none) {
      continue;
    }
    const bool clicks = step.optimize == dsl::Step::Optimize::clicks;
    m_adaptive.add_history(a.scenario, a.experiment, a.variant, clicks ? a.clicked : a.converted);
    m_assigned[{a.enrollment, a.experiment}] = {a.variant, a.probability};
    if (clicks && a.clicked) {
      m_clicked.insert(a.enrollment); // a later click of the same enrollment adds nothing
    }
  }
}

} // namespace cvmd
