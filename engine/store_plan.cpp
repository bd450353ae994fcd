// The orchestrator's durable plan in the store: enrollments, outbox, decisions, scenario
// versions and launches. Part of Store (all SQL lives in engine/store*.cpp).
#include "engine/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

namespace cvmd {

namespace {

void
bind_optional(SQLite::Statement& s, int index, const std::optional<std::int64_t>& value)
{
  if (value) {
    s.bind(index, static_cast<int64_t>(*value));
  } else {
    s.bind(index);
  }
}

std::optional<std::int64_t>
optional_time(const SQLite::Column& c)
{
  return c.isNull() ? std::nullopt : std::optional<std::int64_t>(c.getInt64());
}

OutboxMessage
read_message(SQLite::Statement& q)
{
  OutboxMessage m;
  m.key = q.getColumn(0).getString();
  m.enrollment = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
  m.customer_id = q.getColumn(2).getString();
  m.scenario = q.getColumn(3).getString();
  m.version = q.getColumn(4).getString();
  m.step = q.getColumn(5).getInt();
  m.channel = q.getColumn(6).getString();
  m.template_name = q.getColumn(7).getString();
  m.variant = q.getColumn(8).getString();
  m.due_at = q.getColumn(9).getInt64();
  m.state = q.getColumn(10).getString();
  m.attempts = q.getColumn(11).getInt();
  m.next_attempt_at = q.getColumn(12).getInt64();
  m.done_at = optional_time(q.getColumn(13));
  m.connector = q.getColumn(14).getString();
  m.provider_id = q.getColumn(15).getString();
  m.detail = q.getColumn(16).getString();
  return m;
}

const char* const message_columns = "message_key, enrollment_id, customer_id, scenario, version, step, channel, template, "
                                    "variant, due_at, state, attempts, next_attempt_at, done_at, connector, "
                                    "provider_id, detail";

} // namespace

void
Store::for_each_order_between(std::int64_t after, std::int64_t until, const std::function<void(const OrderRow&)>& visit,
                              Arrivals arrivals) const
{
  SQLite::Statement q(*m_db, "SELECT order_id, customer_id, ordered_at, amount_cents, currency, category FROM orders "
                             "WHERE ordered_at > ? AND ordered_at <= ? AND seq > ? AND seq <= ? ORDER BY ordered_at, seq");
  q.bind(1, static_cast<int64_t>(after));
  q.bind(2, static_cast<int64_t>(until));
  q.bind(3, static_cast<int64_t>(arrivals.after));
  q.bind(4, static_cast<int64_t>(arrivals.upto));
  OrderRow row;
  while (q.executeStep()) {
    row.order_id = q.getColumn(0).getString();
    row.customer_id = q.getColumn(1).getString();
    row.ordered_at = q.getColumn(2).getInt64();
    row.amount_cents = q.getColumn(3).getInt64();
    row.currency = q.getColumn(4).getString();
    row.category = q.getColumn(5).getString();
    visit(row);
  }
}

std::optional<std::int64_t>
Store::meta_time(const std::string& name) const
{
  SQLite::Statement q(*m_db, "SELECT value FROM meta WHERE name = ?");
  q.bind(1, name);
  return q.executeStep() ? std::optional<std::int64_t>(q.getColumn(0).getInt64()) : std::nullopt;
}

std::vector<EnrollmentRecord>
Store::open_enrollments(std::int64_t goals_since) const
{
  std::vector<EnrollmentRecord> out;
  SQLite::Statement q(*m_db, "SELECT enrollment_id, customer_id, scenario, version, variant, entered_at, goal_from, "
                             "converted, active, next_step, due_at FROM enrollments "
                             "WHERE active = 1 OR (converted = 0 AND goal_from >= ?) ORDER BY enrollment_id");
  q.bind(1, static_cast<int64_t>(goals_since));
  while (q.executeStep()) {
    EnrollmentRecord e;
    e.id = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
    e.customer_id = q.getColumn(1).getString();
    e.scenario = q.getColumn(2).getString();
    e.version = q.getColumn(3).getString();
    e.variant = q.getColumn(4).getString();
    e.entered_at = q.getColumn(5).getInt64();
    e.goal_from = optional_time(q.getColumn(6));
    e.converted = q.getColumn(7).getInt() != 0;
    e.active = q.getColumn(8).getInt() != 0;
    e.next_step = static_cast<std::size_t>(q.getColumn(9).getInt64());
    e.due_at = optional_time(q.getColumn(10));
    out.push_back(std::move(e));
  }
  return out;
}

void
Store::for_each_entry(const std::function<void(const std::string&, const std::string&, std::int64_t)>& visit) const
{
  SQLite::Statement q(*m_db, "SELECT customer_id, scenario, max(entered_at) FROM enrollments GROUP BY customer_id, scenario");
  while (q.executeStep()) {
    visit(q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64());
  }
}

std::uint64_t
Store::last_enrollment_id() const
{
  return static_cast<std::uint64_t>(m_db->execAndGet("SELECT coalesce(max(enrollment_id), 0) FROM enrollments").getInt64());
}

std::set<std::string>
Store::launched_scenarios() const
{
  std::set<std::string> out;
  SQLite::Statement q(*m_db, "SELECT scenario FROM scenario_launches");
  while (q.executeStep()) {
    out.insert(q.getColumn(0).getString());
  }
  return out;
}

std::set<std::string>
Store::remembered_scenarios() const
{
  std::set<std::string> out;
  SQLite::Statement q(*m_db, "SELECT scenario FROM scenario_launches WHERE matches_kept = 1");
  while (q.executeStep()) {
    out.insert(q.getColumn(0).getString());
  }
  return out;
}

void
Store::for_each_match(const std::function<void(const std::string&, const std::string&)>& visit) const
{
  SQLite::Statement q(*m_db, "SELECT scenario, customer_id FROM scenario_matches ORDER BY scenario, customer_id");
  while (q.executeStep()) {
    visit(q.getColumn(0).getString(), q.getColumn(1).getString());
  }
}

std::optional<std::pair<std::string, std::int64_t>>
Store::last_good_sources() const
{
  SQLite::Statement q(*m_db, "SELECT sources, saved_at FROM program_sources WHERE id = 1");
  if (!q.executeStep()) {
    return std::nullopt;
  }
  return std::pair{q.getColumn(0).getString(), q.getColumn(1).getInt64()};
}

void
Store::Writer::save_program_sources(const std::string& sources_json, std::int64_t now)
{
  auto& s = statement("INSERT INTO program_sources (id, sources, saved_at) VALUES (1, ?, ?) "
                      "ON CONFLICT (id) DO UPDATE SET sources = excluded.sources, saved_at = excluded.saved_at "
                      "WHERE sources != excluded.sources");
  s.bind(1, sources_json);
  s.bind(2, static_cast<int64_t>(now));
  s.exec();
}

std::optional<std::pair<std::string, std::string>>
Store::scenario_source(const std::string& scenario, const std::string& version) const
{
  SQLite::Statement q(*m_db, "SELECT file, source FROM scenario_versions WHERE scenario = ? AND version = ?");
  q.bind(1, scenario);
  q.bind(2, version);
  if (!q.executeStep()) {
    return std::nullopt;
  }
  return std::pair{q.getColumn(0).getString(), q.getColumn(1).getString()};
}

void
Store::for_each_message(const std::function<void(const OutboxMessage&)>& visit) const
{
  // Test sends (no scenario) are not part of any plan.
  SQLite::Statement q(*m_db, std::string("SELECT ") + message_columns +
                               " FROM outbox WHERE scenario != '' ORDER BY due_at, message_key");
  while (q.executeStep()) {
    visit(read_message(q));
  }
}

std::vector<OutboxMessage>
Store::pending_messages(std::int64_t until) const
{
  std::vector<OutboxMessage> out;
  SQLite::Statement q(*m_db, std::string("SELECT ") + message_columns +
                               " FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND scenario != '' "
                               "ORDER BY next_attempt_at, message_key");
  q.bind(1, static_cast<int64_t>(until));
  while (q.executeStep()) {
    out.push_back(read_message(q));
  }
  return out;
}

std::map<std::pair<std::string, std::string>, std::int64_t>
Store::outbox_counts_by_channel() const
{
  std::map<std::pair<std::string, std::string>, std::int64_t> out;
  SQLite::Statement q(*m_db, "SELECT channel, state, count(*) FROM outbox GROUP BY channel, state");
  while (q.executeStep()) {
    out[{q.getColumn(0).getString(), q.getColumn(1).getString()}] = q.getColumn(2).getInt64();
  }
  return out;
}

std::optional<std::int64_t>
Store::oldest_due(std::int64_t now) const
{
  SQLite::Statement q(*m_db, "SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
                             "AND scenario != ''");
  q.bind(1, static_cast<int64_t>(now));
  if (q.executeStep() && !q.getColumn(0).isNull()) {
    return q.getColumn(0).getInt64();
  }
  return std::nullopt;
}

bool
Store::unsubscribed(const std::string& customer_id, const std::string& channel) const
{
  // CASE, not OR: SQLite may evaluate both sides of an OR, and '' is not JSON.
  SQLite::Statement q(*m_db, "SELECT 1 FROM events WHERE customer_id = ? AND type = 'unsubscribed' AND "
                             "CASE WHEN properties = '' THEN 1 WHEN json_extract(properties, '$.channel') IS NULL THEN 1 "
                             "ELSE json_extract(properties, '$.channel') = ? END LIMIT 1");
  q.bind(1, customer_id);
  q.bind(2, channel);
  return q.executeStep();
}

std::vector<OutboxMessage>
Store::outbox(const OutboxFilter& filter) const
{
  std::vector<OutboxMessage> out;
  SQLite::Statement q(*m_db, std::string("SELECT ") + message_columns +
                               " FROM outbox WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR message_key = ?2) "
                               "AND (?3 = '' OR customer_id = ?3) ORDER BY due_at, message_key LIMIT ?4");
  q.bind(1, filter.state);
  q.bind(2, filter.key);
  q.bind(3, filter.customer);
  q.bind(4, static_cast<int64_t>(filter.limit));
  while (q.executeStep()) {
    out.push_back(read_message(q));
  }
  return out;
}

std::map<std::string, std::int64_t>
Store::outbox_counts() const
{
  std::map<std::string, std::int64_t> out;
  SQLite::Statement q(*m_db, "SELECT state, count(*) FROM outbox GROUP BY state");
  while (q.executeStep()) {
    out[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
  }
  return out;
}

void
Store::Writer::set_meta_time(const std::string& name, std::int64_t value)
{
  auto& s = statement("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  s.bind(1, name);
  s.bind(2, static_cast<int64_t>(value));
  s.exec();
}

void
Store::Writer::save_scenario_version(const std::string& scenario, const std::string& version, const std::string& file,
                                     const std::string& source, std::int64_t now)
{
  auto& s = statement("INSERT OR IGNORE INTO scenario_versions (scenario, version, file, source, first_seen) "
                      "VALUES (?, ?, ?, ?, ?)");
  s.bind(1, scenario);
  s.bind(2, version);
  s.bind(3, file);
  s.bind(4, source);
  s.bind(5, static_cast<int64_t>(now));
  s.exec();
}

void
Store::Writer::mark_launched(const std::string& scenario, std::int64_t at)
{
  auto& s = statement("INSERT OR IGNORE INTO scenario_launches (scenario, launched_at) VALUES (?, ?)");
  s.bind(1, scenario);
  s.bind(2, static_cast<int64_t>(at));
  s.exec();
}

void
Store::Writer::replace_matches(const std::string& scenario, const std::vector<std::string>& customers)
{
  auto& clear = statement("DELETE FROM scenario_matches WHERE scenario = ?");
  clear.bind(1, scenario);
  clear.exec();
  for (const auto& customer : customers) {
    auto& insert = statement("INSERT INTO scenario_matches (scenario, customer_id) VALUES (?, ?)");
    insert.bind(1, scenario);
    insert.bind(2, customer);
    insert.exec();
  }
  auto& kept = statement("UPDATE scenario_launches SET matches_kept = 1 WHERE scenario = ?");
  kept.bind(1, scenario);
  kept.exec();
}

void
Store::Writer::save_enrollment(const EnrollmentRecord& e)
{
  auto& s = statement(
    "INSERT INTO enrollments (enrollment_id, customer_id, scenario, version, variant, entered_at, goal_from, converted, "
    "active, next_step, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (enrollment_id) DO UPDATE SET "
    "variant = excluded.variant, goal_from = excluded.goal_from, converted = excluded.converted, "
    "active = excluded.active, next_step = excluded.next_step, due_at = excluded.due_at");
  s.bind(1, static_cast<int64_t>(e.id));
  s.bind(2, e.customer_id);
  s.bind(3, e.scenario);
  s.bind(4, e.version);
  s.bind(5, e.variant);
  s.bind(6, static_cast<int64_t>(e.entered_at));
  bind_optional(s, 7, e.goal_from);
  s.bind(8, e.converted ? 1 : 0);
  s.bind(9, e.active ? 1 : 0);
  s.bind(10, static_cast<int64_t>(e.next_step));
  bind_optional(s, 11, e.due_at);
  s.exec();
}

void
Store::Writer::save_decision(const Decision& d)
{
  auto& s = statement("INSERT INTO decisions (at, customer_id, scenario, version, step, action, channel, template, variant, "
                      "reason, enrollment_id, revenue_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, static_cast<int64_t>(d.at));
  s.bind(2, d.customer);
  s.bind(3, d.scenario);
  s.bind(4, d.version);
  s.bind(5, d.step);
  s.bind(6, to_string(d.action));
  s.bind(7, d.channel);
  s.bind(8, d.template_name);
  s.bind(9, d.variant);
  s.bind(10, d.reason);
  s.bind(11, static_cast<int64_t>(d.enrollment));
  s.bind(12, static_cast<int64_t>(d.revenue_cents));
  s.exec();
  if (d.assignment) {
    // Once and for all: a step repeated after a crash or a restart assigns the same way.
    auto& a = statement("INSERT OR IGNORE INTO assignments (enrollment_id, experiment, scenario, customer_id, variant, "
                        "probability, at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    a.bind(1, static_cast<int64_t>(d.enrollment));
    a.bind(2, d.assignment->experiment);
    a.bind(3, d.scenario);
    a.bind(4, d.customer);
    a.bind(5, d.assignment->variant);
    a.bind(6, d.assignment->probability);
    a.bind(7, static_cast<int64_t>(d.at));
    a.exec();
  }
}

bool
Store::Writer::queue_message(const OutboxMessage& m)
{
  auto& s = statement("INSERT OR IGNORE INTO outbox (message_key, enrollment_id, customer_id, scenario, version, step, "
                      "channel, template, variant, due_at, state, next_attempt_at) "
                      "VALUES (?, nullif(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?10)");
  s.bind(1, m.key);
  s.bind(2, static_cast<int64_t>(m.enrollment));
  s.bind(3, m.customer_id);
  s.bind(4, m.scenario);
  s.bind(5, m.version);
  s.bind(6, m.step);
  s.bind(7, m.channel);
  s.bind(8, m.template_name);
  s.bind(9, m.variant);
  s.bind(10, static_cast<int64_t>(m.due_at));
  return s.exec() == 1;
}

bool
Store::Writer::record_delivery(const DeliveryRecord& r)
{
  // Only a pending message changes: an operator's discard between the load and the answer
  // wins, and a message is never marked twice.
  auto& s = statement("UPDATE outbox SET state = ?, attempts = attempts + ?, next_attempt_at = ?, "
                      "done_at = CASE WHEN ? = 'pending' THEN done_at ELSE ? END, connector = ?, "
                      "provider_id = ?, detail = ? WHERE message_key = ? AND state = 'pending'");
  s.bind(1, r.state);
  s.bind(2, r.attempted ? 1 : 0);
  s.bind(3, static_cast<int64_t>(r.next_attempt_at));
  s.bind(4, r.state);
  s.bind(5, static_cast<int64_t>(r.at));
  s.bind(6, r.connector);
  s.bind(7, r.provider_id);
  s.bind(8, r.detail);
  s.bind(9, r.key);
  return s.exec() == 1;
}

int
Store::Writer::requeue_messages(const std::string& key, const std::string& from_state, std::int64_t now)
{
  return change_messages(key, from_state, "pending", now);
}

int
Store::Writer::discard_messages(const std::string& key, const std::string& from_state, std::int64_t now)
{
  return change_messages(key, from_state, "discarded", now);
}

int
Store::Writer::change_messages(const std::string& key, const std::string& from_state, const std::string& to_state,
                               std::int64_t now)
{
  // Queued again: due at once, whatever clock the next cycle runs on, attempts anew. Test
  // sends (no scenario) are never queued again.
  auto& s = statement("UPDATE outbox SET state = ?4, "
                      "attempts = CASE WHEN ?4 = 'pending' THEN 0 ELSE attempts END, "
                      "next_attempt_at = CASE WHEN ?4 = 'pending' THEN 0 ELSE next_attempt_at END, "
                      "done_at = CASE WHEN ?4 = 'pending' THEN done_at ELSE ?1 END, "
                      "detail = CASE WHEN ?4 = 'pending' THEN 'queued again by an operator at ' || ?1 "
                      "ELSE 'discarded by an operator' END "
                      "WHERE (?2 = '' OR message_key = ?2) AND state = ?3 AND scenario != ''");
  s.bind(1, static_cast<int64_t>(now));
  s.bind(2, key);
  s.bind(3, from_state);
  s.bind(4, to_state);
  return s.exec();
}

} // namespace cvmd
