// Storing events once: a retry (the same messageId, or without one the same event) is found
// by its key (event_key: its digest and time) among the recent events in memory or in the
// on-disk index event_keys, and compared column by column. See recent_event_keys.hpp for
// why the two.
#include "engine/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <limits>
#include <sqlite3.h>

namespace cvmd {

namespace {

// A repeat has the same type, time and customer, and the same messageId or, without one,
// the same properties. NOT INDEXED: the row is found by its id, and a statement that could
// use the partial index events_unsubscribed (type = 'unsubscribed') would be prepared again
// at each new binding of the type. CROSS JOIN keeps event_keys outside: without statistics
// the planner walked all events of that type and second (tens of thousands under load).
const std::string same_id = " AND type = ?2 AND at = ?3 AND customer_id = ?4 AND message_id = ?5";
const std::string same_event =
  " AND type = ?2 AND at = ?3 AND customer_id = ?4 AND properties = ?5 AND message_id IS NULL";
const std::string recent = "SELECT 1 FROM events NOT INDEXED WHERE event_id = ?1";
const std::string keyed = "SELECT 1 FROM event_keys CROSS JOIN events NOT INDEXED "
                          "ON events.event_id = event_keys.event_id WHERE event_keys.hash = ?1";
const std::string recent_same_id = recent + same_id;
const std::string recent_same_event = recent + same_event;
const std::string keyed_same_id = keyed + same_id;
const std::string keyed_same_event = keyed + same_event;

void
bind_event_match(SQLite::Statement& q, const EventRow& row, const std::string& message_id)
{
  q.bindNoCopy(2, row.type);
  q.bind(3, static_cast<int64_t>(row.at));
  q.bindNoCopy(4, row.customer_id);
  if (message_id.empty()) {
    q.bindNoCopy(5, row.properties);
  } else {
    q.bindNoCopy(5, message_id);
  }
}

} // namespace

void
Store::Writer::read_recent_event_keys()
{
  auto& store = m_store;
  auto& through_query = statement("SELECT value FROM meta WHERE name = 'event_keys_through'");
  const std::int64_t through = through_query.executeStep() ? through_query.getColumn(0).getInt64() : 0;
  through_query.reset();
  if (!store.m_stored_digests_read) {
    // The first writer of events on this connection: every key on disk, once.
    auto& keyed = statement("SELECT hash FROM event_keys");
    while (keyed.executeStep()) {
      store.m_stored_digests.add(keyed.getColumn(0).getInt64());
    }
    keyed.reset();
    store.m_stored_digests_seen = through;
    store.m_stored_digests_read = true;
  }
  if (store.m_recent_keys_seen < through) {
    store.m_recent_keys.clear(); // all of them are in event_keys now
    store.m_recent_keys_seen = through;
  } else {
    store.m_recent_keys.forget_through(through);
  }
  // What other connections stored since this one last looked.
  auto& later = statement("SELECT event_id, digest, at FROM events WHERE event_id > ? ORDER BY event_id");
  later.bind(1, static_cast<int64_t>(std::min(store.m_recent_keys_seen, store.m_stored_digests_seen)));
  while (later.executeStep()) {
    const auto event_id = later.getColumn(0).getInt64();
    const auto key = event_key(later.getColumn(1).getInt64(), later.getColumn(2).getInt64());
    if (event_id > store.m_stored_digests_seen) {
      store.m_stored_digests.add(key);
      store.m_stored_digests_seen = event_id;
    }
    if (event_id > store.m_recent_keys_seen) {
      store.m_recent_keys.add(event_id, key);
      store.m_recent_keys_seen = event_id;
    }
  }
  later.reset();
  if (!m_event_keys_touched) {
    // Read in this transaction, before it stored any event: a rollback of the whole
    // transaction takes back exactly the events after this one.
    m_events_before = std::max(store.m_recent_keys_seen, store.m_stored_digests_seen);
    m_event_keys_touched = true;
  }
  m_event_keys_read = true;
}

bool
Store::Writer::stored_already(const EventRow& row, const std::string& message_id, std::int64_t key)
{
  const bool by_id = !message_id.empty();
  for (const auto event_id : m_store.m_recent_keys.events_with(key)) {
    auto& q = statement(by_id ? recent_same_id : recent_same_event);
    q.bind(1, static_cast<int64_t>(event_id));
    bind_event_match(q, row, message_id);
    const bool found = q.executeStep();
    q.reset();
    if (found) {
      return true;
    }
  }
  auto& q = statement(by_id ? keyed_same_id : keyed_same_event);
  q.bind(1, static_cast<int64_t>(key));
  bind_event_match(q, row, message_id);
  const bool found = q.executeStep();
  q.reset();
  return found;
}

InsertOutcome
Store::Writer::insert_event(const EventRow& row, const std::string& message_id)
{
  // The same event stored twice is one row: found by its key, and compared column by
  // column, so that two events whose keys collide both stay. An event with a message id
  // is known by it: its digest stands for the id ('#' before it, which no JSON object text
  // starts with, so it never equals a digest of properties).
  if (!m_event_keys_read) {
    read_recent_event_keys();
  }
  const bool by_id = !message_id.empty();
  const auto digest = by_id ? event_digest(row.customer_id, row.type, "#" + message_id)
                            : event_digest(row.customer_id, row.type, row.properties);
  const auto key = event_key(digest, row.at);
  if (m_store.m_stored_digests.may_contain(key) && stored_already(row, message_id, key)) {
    return InsertOutcome::unchanged;
  }
  auto& insert =
    statement("INSERT INTO events (customer_id, type, at, properties, digest, message_id) VALUES (?, ?, ?, ?, ?, ?)");
  insert.bindNoCopy(1, row.customer_id);
  insert.bindNoCopy(2, row.type);
  insert.bind(3, static_cast<int64_t>(row.at));
  insert.bindNoCopy(4, row.properties);
  insert.bind(5, static_cast<int64_t>(digest));
  if (by_id) {
    insert.bindNoCopy(6, message_id);
  } else {
    insert.bind(6); // NULL
  }
  insert.exec();
  const auto event_id = static_cast<std::int64_t>(sqlite3_last_insert_rowid(m_store.m_db->getHandle()));
  m_store.m_recent_keys.add(event_id, key);
  m_store.m_recent_keys_seen = event_id;
  m_store.m_stored_digests.add(key);
  m_store.m_stored_digests_seen = event_id;
  ++m_events_inserted;
  if (m_store.m_recent_keys.size() >= 4 * m_store.m_recent_keys_limit) {
    // A large import: merged whole now, so that memory stays bounded.
    m_store.m_recent_keys.abandon_merge();
    merge_event_keys(m_store.m_recent_keys.size());
    m_event_keys_merged_whole = true; // before memory forgets: a rollback must read it again
    m_store.m_recent_keys.forget_through(m_merge_completed);
    m_store.m_recent_keys.trim(std::numeric_limits<std::size_t>::max()); // no answer waits here
  }
  return InsertOutcome::inserted;
}

void
Store::Writer::merge_event_keys(std::size_t keys)
{
  auto& recent = m_store.m_recent_keys;
  if (!recent.merging()) {
    if (recent.size() < m_store.m_recent_keys_limit) {
      return;
    }
    recent.start_merge();
  }
  auto& insert = statement("INSERT OR IGNORE INTO event_keys (hash, event_id) VALUES (?, ?)");
  thread_local std::vector<RecentEventKeys::Key> slice;
  recent.next_slice(keys, slice);
  for (const auto& [key, event_id] : slice) {
    insert.bind(1, static_cast<int64_t>(key));
    insert.bind(2, static_cast<int64_t>(event_id));
    insert.exec();
    insert.reset();
  }
  if (recent.merge_done()) {
    auto& through = statement("INSERT INTO meta (name, value) VALUES ('event_keys_through', ?1) "
                              "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)");
    through.bind(1, static_cast<int64_t>(recent.merge_through()));
    through.exec();
    m_merge_completed = recent.merge_through();
  }
}

void
Store::Writer::forget_rolled_back_event_keys(bool whole_transaction) noexcept
{
  auto& store = m_store;
  m_event_keys_read = false; // what stays is read again
  m_merge_completed = 0;
  std::int64_t last = m_events_before;
  if (whole_transaction) {
    // The slices this transaction merged are gone with it (its commit may have failed).
    // `last` is known without asking: after the rollback another writer may already have
    // stored events under the same ids.
    store.m_recent_keys.abandon_merge();
  } else {
    try {
      // Inside the transaction: the events after the savepoint are gone, the last ones.
      last = store.m_db->execAndGet("SELECT coalesce(max(event_id), 0) FROM events").getInt64();
    } catch (const std::exception&) {
      store.m_recent_keys.clear(); // read again from the store, all of it
      store.m_recent_keys_seen = -1;
      store.m_stored_digests = DigestFilter();
      store.m_stored_digests_read = false;
      m_event_keys_merged_whole = false;
      return;
    }
  }
  // Ids after `last` may be given again to other events, whose keys are read then.
  store.m_stored_digests_seen = std::min(store.m_stored_digests_seen, last);
  if (m_event_keys_merged_whole) {
    store.m_recent_keys.clear(); // memory forgot keys the rollback took off the disk again
    store.m_recent_keys_seen = -1;
    if (whole_transaction) {
      m_event_keys_merged_whole = false;
    }
    return;
  }
  store.m_recent_keys.forget_after(last);
  store.m_recent_keys_seen = std::min(store.m_recent_keys_seen, last);
}

} // namespace cvmd
