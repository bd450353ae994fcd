// The outcome log as the reports read it (the `outcomes` view and the assignments, schema
// v8): per message and assignment, per experiment, per scenario.

#include "engine/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <unordered_map>

namespace cvmd {

namespace {

// Suppression reasons carry details (dates, caps, the split's bucket); the report groups
// them by what kind of reason it was.
std::string
reason_kind(std::string reason)
{
  if (const auto last = reason.rfind("; "); last != std::string::npos) {
    reason.erase(0, last + 2); // "split t: a 50% (bucket 3.10); no email consent"
  }
  if (reason.rfind("unsubscribed", 0) == 0) {
    return "unsubscribed";
  }
  if (const auto colon = reason.find(':'); colon != std::string::npos) {
    reason.resize(colon);
  }
  return reason;
}

enum Reached : unsigned
{
  sent = 1,
  delivered = 2,
  bounced = 4,
  opened = 8,
  clicked = 16,
  unsubscribed = 32
};

unsigned
reached_bit(const std::string& outcome)
{
  static const std::pair<const char*, unsigned> bits[] = {{"sent", sent},       {"delivered", delivered},
                                                          {"bounced", bounced}, {"opened", opened},
                                                          {"clicked", clicked}, {"unsubscribed", unsubscribed}};
  for (const auto& [name, bit] : bits) {
    if (outcome == name) {
      return bit;
    }
  }
  return 0;
}

} // namespace

void
Store::for_each_outcome(const std::string& scenario, const std::function<void(const OutcomeRow&)>& visit) const
{
  SQLite::Statement q(*m_db,
                      "SELECT coalesce(message_key, ''), enrollment_id, customer_id, scenario, experiment, variant, "
                      "channel, template, outcome, at, revenue_cents FROM outcomes "
                      "WHERE ?1 = '' OR scenario = ?1 ORDER BY at, enrollment_id, outcome");
  q.bind(1, scenario);
  OutcomeRow row;
  while (q.executeStep()) {
    row.message_key = q.getColumn(0).getString();
    row.enrollment = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
    row.customer_id = q.getColumn(2).getString();
    row.scenario = q.getColumn(3).getString();
    row.experiment = q.getColumn(4).getString();
    row.variant = q.getColumn(5).getString();
    row.channel = q.getColumn(6).getString();
    row.template_name = q.getColumn(7).getString();
    row.outcome = q.getColumn(8).getString();
    row.at = q.getColumn(9).getInt64();
    row.revenue_cents = q.getColumn(10).getInt64();
    visit(row);
  }
}

std::vector<AssignmentResult>
Store::assignment_results(const std::string& scenario) const
{
  std::unordered_map<std::uint64_t, unsigned> reached;
  {
    // One scenario's rows are picked by an equality the planner can push into the view's
    // parts (an `OR ? = ''` would make it read every event).
    SQLite::Statement q(*m_db, std::string("SELECT enrollment_id, outcome FROM outcomes WHERE ") +
                                 (scenario.empty() ? "1" : "scenario = ?1") +
                                 " AND enrollment_id IS NOT NULL AND outcome NOT IN ('assigned', 'converted') "
                                 "GROUP BY enrollment_id, outcome");
    if (!scenario.empty()) {
      q.bind(1, scenario);
    }
    while (q.executeStep()) {
      reached[static_cast<std::uint64_t>(q.getColumn(0).getInt64())] |= reached_bit(q.getColumn(1).getString());
    }
  }
  std::vector<AssignmentResult> out;
  SQLite::Statement q(*m_db, "SELECT a.enrollment_id, a.scenario, a.experiment, a.variant, a.customer_id, a.at, "
                             "a.probability, e.active, e.converted, "
                             "coalesce((SELECT sum(d.revenue_cents) FROM decisions d WHERE d.enrollment_id = "
                             "a.enrollment_id AND d.action = 'convert'), 0) "
                             "FROM assignments a JOIN enrollments e ON e.enrollment_id = a.enrollment_id "
                             "WHERE " +
                               std::string(scenario.empty() ? "1" : "a.scenario = ?1") +
                               " ORDER BY a.scenario, a.experiment, a.enrollment_id");
  if (!scenario.empty()) {
    q.bind(1, scenario);
  }
  while (q.executeStep()) {
    AssignmentResult r;
    r.enrollment = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
    r.scenario = q.getColumn(1).getString();
    r.experiment = q.getColumn(2).getString();
    r.variant = q.getColumn(3).getString();
    r.customer_id = q.getColumn(4).getString();
    r.at = q.getColumn(5).getInt64();
    r.probability = q.getColumn(6).getDouble();
    r.active = q.getColumn(7).getInt() != 0;
    r.converted = q.getColumn(8).getInt() != 0;
    r.revenue_cents = q.getColumn(9).getInt64();
    const auto bits = reached.count(r.enrollment) ? reached[r.enrollment] : 0u;
    r.sent = bits & Reached::sent;
    r.opened = bits & Reached::opened;
    r.clicked = bits & Reached::clicked;
    r.unsubscribed = bits & Reached::unsubscribed;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ScenarioActivity>
Store::scenario_activity() const
{
  std::map<std::string, ScenarioActivity> by;
  const auto at = [&](const std::string& scenario) -> ScenarioActivity& {
    auto& a = by[scenario];
    a.scenario = scenario;
    return a;
  };
  {
    SQLite::Statement q(*m_db,
                        "SELECT scenario, count(*), sum(active), sum(converted) FROM enrollments GROUP BY scenario");
    while (q.executeStep()) {
      auto& a = at(q.getColumn(0).getString());
      a.entered = q.getColumn(1).getInt64();
      a.active = q.getColumn(2).getInt64();
      a.converted = q.getColumn(3).getInt64();
    }
  }
  {
    SQLite::Statement q(
      *m_db, "SELECT scenario, sum(revenue_cents) FROM decisions WHERE action = 'convert' GROUP BY scenario");
    while (q.executeStep()) {
      at(q.getColumn(0).getString()).revenue_cents = q.getColumn(1).getInt64();
    }
  }
  {
    SQLite::Statement q(*m_db, "SELECT scenario, outcome, count(DISTINCT enrollment_id) FROM outcomes "
                               "WHERE outcome NOT IN ('assigned', 'converted') GROUP BY scenario, outcome");
    while (q.executeStep()) {
      at(q.getColumn(0).getString()).reached[q.getColumn(1).getString()] = q.getColumn(2).getInt64();
    }
  }
  {
    SQLite::Statement q(*m_db,
                        "SELECT scenario, state, count(*) FROM outbox WHERE scenario <> '' GROUP BY scenario, state");
    while (q.executeStep()) {
      at(q.getColumn(0).getString()).messages[q.getColumn(1).getString()] = q.getColumn(2).getInt64();
    }
  }
  {
    SQLite::Statement q(
      *m_db, "SELECT scenario, reason, count(*) FROM decisions WHERE action = 'suppress' GROUP BY scenario, reason");
    while (q.executeStep()) {
      at(q.getColumn(0).getString()).suppressed[reason_kind(q.getColumn(1).getString())] += q.getColumn(2).getInt64();
    }
  }
  std::vector<ScenarioActivity> out;
  for (auto& [name, a] : by) {
    out.push_back(std::move(a));
  }
  return out;
}

} // namespace cvmd
