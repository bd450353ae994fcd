#include "engine/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cstring>
#include <sqlite3.h>
#include <stdexcept>
#include <thread>
#include <xxhash.h>

namespace cvmd {

namespace {

// Page cache per connection: 64 MiB, as imports touch the whole orders index.
constexpr int cache_kib = 65536;
// While the indexes of a bulk load are built: SQLite's sorter sorts runs of this size (it
// takes cache_size) on its threads, then merges them. At 10M orders 16 MiB runs built both
// indexes in 4.8-4.9 s against 5.3 s with 64 MiB, and the import's peak memory halved
// (docs/benchmarks.md).
constexpr int sort_cache_kib = 16384;

const std::string order_indexes = "CREATE UNIQUE INDEX orders_by_id ON orders(order_id);"
                                  "CREATE INDEX orders_by_customer ON orders(customer_id, ordered_at, amount_cents);";

// The outcome log's views (v8); v9 rebuilds the events table under them.
const std::string outcome_views = R"sql(
CREATE VIEW message_events AS
  SELECT o.message_key, o.enrollment_id, o.customer_id, o.scenario, o.variant, o.channel, o.template,
         ev.type, ev.at, ev.properties
  FROM events ev JOIN outbox o ON o.message_key = json_extract(ev.properties, '$.message_key')
    AND o.customer_id = ev.customer_id
  WHERE ev.type IN ('opened', 'clicked', 'unsubscribed', 'delivery_report') AND json_valid(ev.properties);
CREATE VIEW outcomes AS
  SELECT message_key, enrollment_id, customer_id, scenario, '' AS experiment, variant, channel, template,
         'sent' AS outcome, done_at AS at, 0 AS revenue_cents
    FROM outbox WHERE state = 'sent' AND scenario <> ''
  UNION ALL
  SELECT message_key, enrollment_id, customer_id, scenario, '', variant, channel, template,
         'delivered', done_at, 0
    FROM outbox WHERE state = 'sent' AND scenario <> '' AND channel <> 'sms'
  UNION ALL
  SELECT message_key, enrollment_id, customer_id, scenario, '', variant, channel, template,
         'bounced', done_at, 0
    FROM outbox WHERE state = 'failed' AND scenario <> ''
  UNION ALL
  SELECT message_key, enrollment_id, customer_id, scenario, '', variant, channel, template,
         CASE WHEN type <> 'delivery_report' THEN type
              WHEN json_extract(properties, '$.status') = 1 THEN 'delivered'
              ELSE 'bounced' END,
         at, 0
    FROM message_events
    WHERE scenario <> '' AND (type <> 'delivery_report' OR json_extract(properties, '$.status') IN (1, 2, 16))
  UNION ALL
  SELECT NULL, enrollment_id, customer_id, scenario, '', variant, '', '', 'converted', at, revenue_cents
    FROM decisions WHERE action = 'convert'
  UNION ALL
  SELECT NULL, enrollment_id, customer_id, scenario, experiment, variant, '', '', 'assigned', at, 0
    FROM assignments;
)sql";

// Each entry moves the schema one version up; applied in order, inside one transaction.
const std::string migrations[] = {
  R"sql(
CREATE TABLE customers (
  customer_id         TEXT PRIMARY KEY NOT NULL,
  email               TEXT,
  phone               TEXT,
  first_name          TEXT,
  last_name           TEXT,
  timezone            TEXT,
  country             TEXT,
  email_consent       INTEGER NOT NULL DEFAULT 0,
  email_consent_at    INTEGER,
  sms_consent         INTEGER NOT NULL DEFAULT 0,
  sms_consent_at      INTEGER,
  acquisition_channel TEXT,
  created_at          INTEGER NOT NULL
);
CREATE TABLE customer_profile (
  customer_id TEXT NOT NULL REFERENCES customers(customer_id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  value       TEXT NOT NULL,
  PRIMARY KEY (customer_id, name)
) WITHOUT ROWID;
CREATE TABLE orders (
  order_id     TEXT PRIMARY KEY NOT NULL,
  customer_id  TEXT NOT NULL REFERENCES customers(customer_id),
  ordered_at   INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
  currency     TEXT NOT NULL DEFAULT '',
  category     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX orders_by_customer ON orders(customer_id, ordered_at);
CREATE TABLE events (
  event_id    INTEGER PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(customer_id),
  type        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  properties  TEXT NOT NULL DEFAULT '',
  UNIQUE (customer_id, type, at, properties)
);
)sql",
  // v2: the orders table gets a plain rowid and explicit indexes, so a first load can build
  // them once by sorting instead of millions of random B-tree inserts; the customer index
  // covers what the snapshot reads, so reading orders never visits the table.
  R"sql(
CREATE TABLE orders_v2 (
  seq          INTEGER PRIMARY KEY,
  order_id     TEXT NOT NULL,
  customer_id  TEXT NOT NULL REFERENCES customers(customer_id),
  ordered_at   INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
  currency     TEXT NOT NULL DEFAULT '',
  category     TEXT NOT NULL DEFAULT ''
);
INSERT INTO orders_v2 (order_id, customer_id, ordered_at, amount_cents, currency, category)
  SELECT order_id, customer_id, ordered_at, amount_cents, currency, category FROM orders ORDER BY rowid;
DROP TABLE orders;
ALTER TABLE orders_v2 RENAME TO orders;
)sql" + order_indexes,
  // v3: the durable plan of the orchestrator.
  R"sql(
CREATE TABLE scenario_versions (
  scenario   TEXT NOT NULL,
  version    TEXT NOT NULL,
  file       TEXT NOT NULL,
  source     TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  PRIMARY KEY (scenario, version)
) WITHOUT ROWID;
CREATE TABLE scenario_launches (
  scenario    TEXT PRIMARY KEY NOT NULL,
  launched_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE enrollments (
  enrollment_id INTEGER PRIMARY KEY,
  customer_id   TEXT NOT NULL REFERENCES customers(customer_id),
  scenario      TEXT NOT NULL,
  version       TEXT NOT NULL,
  variant       TEXT NOT NULL DEFAULT '',
  entered_at    INTEGER NOT NULL,
  goal_from     INTEGER,
  converted     INTEGER NOT NULL DEFAULT 0,
  active        INTEGER NOT NULL,
  next_step     INTEGER NOT NULL,
  due_at        INTEGER
);
CREATE INDEX enrollments_active ON enrollments(active, enrollment_id);
CREATE TABLE outbox (
  message_key   TEXT PRIMARY KEY NOT NULL,
  enrollment_id INTEGER NOT NULL REFERENCES enrollments(enrollment_id),
  customer_id   TEXT NOT NULL,
  scenario      TEXT NOT NULL,
  version       TEXT NOT NULL,
  step          INTEGER NOT NULL,
  channel       TEXT NOT NULL,
  template      TEXT NOT NULL,
  variant       TEXT NOT NULL,
  due_at        INTEGER NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  done_at       INTEGER,
  detail        TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX outbox_pending ON outbox(state, due_at);
CREATE TABLE decisions (
  decision_id   INTEGER PRIMARY KEY,
  at            INTEGER NOT NULL,
  customer_id   TEXT NOT NULL,
  scenario      TEXT NOT NULL,
  version       TEXT NOT NULL,
  step          INTEGER NOT NULL,
  action        TEXT NOT NULL,
  channel       TEXT NOT NULL,
  template      TEXT NOT NULL,
  variant       TEXT NOT NULL,
  reason        TEXT NOT NULL,
  enrollment_id INTEGER NOT NULL,
  revenue_cents INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE meta (
  name  TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
  // v4: who matched each state scenario at the end of the last cycle.
  R"sql(
ALTER TABLE scenario_launches ADD COLUMN matches_kept INTEGER NOT NULL DEFAULT 0;
CREATE TABLE scenario_matches (
  scenario    TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  PRIMARY KEY (scenario, customer_id)
) WITHOUT ROWID;
)sql",
  // v5: delivery through real gateways: retries at a time of their own, dead letters,
  // operator discards, the gateway's id; test sends belong to no enrollment.
  R"sql(
CREATE TABLE outbox_v5 (
  message_key     TEXT PRIMARY KEY NOT NULL,
  enrollment_id   INTEGER REFERENCES enrollments(enrollment_id),
  customer_id     TEXT NOT NULL,
  scenario        TEXT NOT NULL,
  version         TEXT NOT NULL,
  step            INTEGER NOT NULL,
  channel         TEXT NOT NULL,
  template        TEXT NOT NULL,
  variant         TEXT NOT NULL,
  due_at          INTEGER NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'dead', 'discarded')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  done_at         INTEGER,
  connector       TEXT NOT NULL DEFAULT '',
  provider_id     TEXT NOT NULL DEFAULT '',
  detail          TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
INSERT INTO outbox_v5 (message_key, enrollment_id, customer_id, scenario, version, step, channel, template, variant,
                       due_at, state, attempts, next_attempt_at, done_at, detail)
  SELECT message_key, enrollment_id, customer_id, scenario, version, step, channel, template, variant,
         due_at, state, attempts, due_at, done_at, detail FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v5 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
)sql",
  // v6: the messageIds of events taken through the daemon's API: a repeat changes nothing.
  R"sql(
CREATE TABLE ingested_messages (
  message_id TEXT PRIMARY KEY NOT NULL,
  at         INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
  // v7: the last scenario files that passed their check, whole: they keep running while
  // edited files are refused.
  R"sql(
CREATE TABLE program_sources (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  sources  TEXT NOT NULL,
  saved_at INTEGER NOT NULL
);
)sql",
  // v8: the outcome log. Assignments are written once per enrollment and experiment (a
  // split, or the scenario's holdout) with the probability the customer had of landing in
  // that variant, so that adaptive splits can be reported without bias. Everything else
  // is derived from what the store already holds, in one view: a message is `sent` and,
  // for email and webhooks, `delivered` when its gateway accepted it, `bounced` when it was
  // refused for good; SMS delivery reports, opens, clicks and unsubscribes are the
  // tracking events carrying the message's key; conversions are the goal's decisions.
  R"sql(
CREATE TABLE assignments (
  enrollment_id INTEGER NOT NULL REFERENCES enrollments(enrollment_id),
  experiment    TEXT NOT NULL,
  scenario      TEXT NOT NULL,
  customer_id   TEXT NOT NULL,
  variant       TEXT NOT NULL,
  probability   REAL NOT NULL CHECK (probability > 0 AND probability <= 1),
  at            INTEGER NOT NULL,
  PRIMARY KEY (enrollment_id, experiment)
) WITHOUT ROWID;
CREATE INDEX assignments_by_experiment ON assignments(scenario, experiment);
CREATE INDEX decisions_by_enrollment ON decisions(enrollment_id, action);
CREATE INDEX outbox_by_enrollment ON outbox(enrollment_id);
)sql" + outcome_views,
  // v9: events in the order they are read and written. The unique key (customer_id, type,
  // at, properties) held every event's properties a second time and put each new event
  // beside its customer's older ones, so a commit of a few hundred events rewrote a page per
  // customer. Now a 64-bit digest of customer, type and properties stands for them in the
  // key (a repeat is still compared column by column, see insert_event), the key begins with
  // the type and the time, so that new events land at the end of their type's range and a
  // cycle reads only the types its scenarios ask about; an index on the time serves the
  // events that fall due in a cycle, and a small one finds a customer's unsubscribes.
  R"sql(
DROP VIEW outcomes;
DROP VIEW message_events;
CREATE TABLE events_v9 (
  event_id    INTEGER PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(customer_id),
  type        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  properties  TEXT NOT NULL DEFAULT '',
  digest      INTEGER NOT NULL
);
INSERT INTO events_v9 (event_id, customer_id, type, at, properties, digest)
  SELECT event_id, customer_id, type, at, properties, cvmd_event_digest(customer_id, type, properties)
  FROM events ORDER BY event_id;
DROP TABLE events;
ALTER TABLE events_v9 RENAME TO events;
CREATE INDEX events_by_type ON events(type, at, digest);
CREATE INDEX events_by_time ON events(at);
CREATE INDEX events_unsubscribed ON events(customer_id) WHERE type = 'unsubscribed';
)sql" + outcome_views,
  // v10: the event API's messageId kept in the event's row (NULL for imported and older
  // events), so that a retry is found beside the event itself instead of in a table keyed by
  // the id alone (see insert_event).
  R"sql(
ALTER TABLE events ADD COLUMN message_id TEXT;
)sql",
  // v11: the digest that finds a retry out of events_by_type. Within one second of one type
  // it put each new event at a random place, and under tens of thousands of events a second a
  // commit of a few hundred events rewrote about sixty 16 KiB pages. events_by_type now
  // receives new events at its end; the events' keys (event_key: the digest and the time,
  // since a customer's many alike events differ only in time) go to event_keys, those of the
  // events through meta's event_keys_through, merged in key order from memory
  // (RecentEventKeys).
  R"sql(
DROP INDEX events_by_type;
CREATE INDEX events_by_type ON events(type, at);
CREATE TABLE event_keys (
  hash     INTEGER NOT NULL,
  event_id INTEGER NOT NULL,
  PRIMARY KEY (hash, event_id)
) WITHOUT ROWID;
INSERT INTO event_keys (hash, event_id)
  SELECT cvmd_event_key(digest, at), event_id FROM events ORDER BY 1, 2;
INSERT INTO meta (name, value) SELECT 'event_keys_through', coalesce(max(event_id), 0) FROM events;
)sql",
};

} // namespace

namespace {

// A statement through SQLite's C interface, for the scans of millions of rows: SQLiteCpp's
// column objects copy a shared pointer per value, a tenth of the snapshot's reading.
class RawStatement
{
public:
  RawStatement(sqlite3* db, const std::string& sql) : m_db(db)
  {
    if (const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &m_stmt, nullptr); rc != SQLITE_OK) {
      throw SQLite::Exception(db, rc);
    }
  }
  ~RawStatement() { sqlite3_finalize(m_stmt); }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;

  bool step()
  {
    const int rc = sqlite3_step(m_stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      throw SQLite::Exception(m_db, rc);
    }
    return rc == SQLITE_ROW;
  }
  // Valid until the next step.
  std::string_view text(int k) const
  {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, k));
    return {data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, k))};
  }
  std::int64_t integer(int k) const { return sqlite3_column_int64(m_stmt, k); }
  bool is_null(int k) const { return sqlite3_column_type(m_stmt, k) == SQLITE_NULL; }
  // Parameters count from 1; a text must outlive the statement's steps.
  void bind(int k, std::int64_t value) { check(sqlite3_bind_int64(m_stmt, k, value)); }
  void bind(int k, std::string_view text)
  {
    check(sqlite3_bind_text(m_stmt, k, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
  }
  sqlite3_stmt* handle() const { return m_stmt; }

private:
  void check(int rc) const
  {
    if (rc != SQLITE_OK) {
      throw SQLite::Exception(m_db, rc);
    }
  }

  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
};

} // namespace

const std::vector<std::string>&
customer_fields()
{
  static const std::vector<std::string> fields = {"email", "phone", "first_name", "last_name",
                                                  "timezone", "country", "acquisition_channel"};
  return fields;
}

std::int64_t
event_digest(std::string_view customer_id, std::string_view type, std::string_view properties)
{
  // Each text with its length before it: ("ab", "c") and ("a", "bc") differ.
  thread_local std::string bytes;
  bytes.clear();
  for (const auto text : {customer_id, type, properties}) {
    // Little-endian whatever the machine: the digest is stored and must not depend on it.
    auto size = static_cast<std::uint64_t>(text.size());
    for (int k = 0; k < 8; ++k, size >>= 8) {
      bytes.push_back(static_cast<char>(size & 0xff));
    }
    bytes.append(text);
  }
  const std::uint64_t digest = XXH64(bytes.data(), bytes.size(), 0);
  std::int64_t stored;
  std::memcpy(&stored, &digest, sizeof stored); // SQLite integers are signed
  return stored;
}

std::int64_t
event_key(std::int64_t digest, std::int64_t at)
{
  // Little-endian bytes, as for the digest: the key is stored.
  unsigned char bytes[16];
  for (int k = 0; k < 8; ++k) {
    bytes[k] = static_cast<unsigned char>((static_cast<std::uint64_t>(digest) >> (8 * k)) & 0xff);
    bytes[8 + k] = static_cast<unsigned char>((static_cast<std::uint64_t>(at) >> (8 * k)) & 0xff);
  }
  const std::uint64_t key = XXH64(bytes, sizeof bytes, 0);
  std::int64_t stored;
  std::memcpy(&stored, &key, sizeof stored);
  return stored;
}

namespace {

std::string_view
argument_text(sqlite3_value* value)
{
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
  return {text ? text : "", static_cast<std::size_t>(sqlite3_value_bytes(value))};
}

// cvmd_event_digest(customer_id, type, properties), for the migration to v9.
void
sql_event_digest(sqlite3_context* context, int, sqlite3_value** values)
{
  sqlite3_result_int64(context, event_digest(argument_text(values[0]), argument_text(values[1]),
                                             argument_text(values[2])));
}

// cvmd_event_key(digest, at), for the migration to v11.
void
sql_event_key(sqlite3_context* context, int, sqlite3_value** values)
{
  sqlite3_result_int64(context, event_key(sqlite3_value_int64(values[0]), sqlite3_value_int64(values[1])));
}

} // namespace

Store::Store(std::string path, std::unique_ptr<SQLite::Database> db)
  : m_path(std::move(path)),
    m_db(std::move(db))
{
}

Store::~Store() = default;

Result<std::unique_ptr<Store>>
Store::open(const std::string& path)
{
  try {
    // No mutex per call: a connection is only ever used by one thread at a time (the
    // import's writer thread takes it over while the main thread reads the file).
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
    // Before anything is written: a new store gets 16 KiB pages (SQLite's default is 4 KiB).
    // Bulk loads and the snapshot's index scans touch every page, and with a quarter as many
    // pages building the two order indexes took about a fifth less time at 10M orders. An
    // existing store keeps the page size it was made with (the pragma is then ignored).
    db->exec("PRAGMA page_size = 16384");
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA foreign_keys = ON");
    db->exec("PRAGMA synchronous = NORMAL");
    db->exec("PRAGMA cache_size = -" + std::to_string(cache_kib)); // imports touch the whole orders index
    db->setBusyTimeout(5000);
    sqlite3_create_function_v2(db->getHandle(), "cvmd_event_digest", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                               sql_event_digest, nullptr, nullptr, nullptr);
    sqlite3_create_function_v2(db->getHandle(), "cvmd_event_key", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                               sql_event_key, nullptr, nullptr, nullptr);
    std::unique_ptr<Store> store(new Store(path, std::move(db)));
    store->migrate();
    return store;
  } catch (const std::exception& e) {
    return Result<std::unique_ptr<Store>>::failure(path + ": cannot open the store: " + e.what());
  }
}

Result<std::unique_ptr<Store>>
Store::reader() const
{
  try {
    auto db = std::make_unique<SQLite::Database>(m_path, SQLite::OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
    db->setBusyTimeout(5000);
    return std::unique_ptr<Store>(new Store(m_path, std::move(db)));
  } catch (const std::exception& e) {
    return Result<std::unique_ptr<Store>>::failure(m_path + ": cannot open the store for reading: " + e.what());
  }
}

Result<bool>
Store::copy_to(const std::string& path) const
{
  try {
    SQLite::Statement q(*m_db, "VACUUM INTO ?");
    q.bind(1, path);
    q.exec();
    return true;
  } catch (const std::exception& e) {
    return Result<bool>::failure(path + ": cannot copy the store there: " + e.what());
  }
}

int
Store::version() const
{
  return m_db->execAndGet("PRAGMA user_version").getInt();
}

void
Store::migrate()
{
  const int current = version();
  const int target = static_cast<int>(std::size(migrations));
  static_assert(std::size(migrations) == schema_version);
  if (current > target) {
    throw std::runtime_error("the store has schema version " + std::to_string(current) +
                             ", newer than this cvmd knows (" + std::to_string(target) + ")");
  }
  if (current == target) {
    return;
  }
  SQLite::Transaction transaction(*m_db);
  for (int v = current; v < target; ++v) {
    m_db->exec(migrations[v]);
  }
  m_db->exec("PRAGMA user_version = " + std::to_string(target)); // a pragma takes no parameters
  transaction.commit();
}

namespace {

// The row outlives the statement's step, so its texts are bound without a copy.
void
bind_order(SQLite::Statement& insert, const OrderRow& row, int offset = 0)
{
  insert.bindNoCopy(offset + 1, row.order_id);
  insert.bindNoCopy(offset + 2, row.customer_id);
  insert.bind(offset + 3, static_cast<int64_t>(row.ordered_at));
  insert.bind(offset + 4, static_cast<int64_t>(row.amount_cents));
  insert.bindNoCopy(offset + 5, row.currency);
  insert.bindNoCopy(offset + 6, row.category);
}

} // namespace

Store::Writer::Writer(Store& store, bool bulk_orders)
  : m_store(store)
{
  if (store.m_open_writer && store.m_finish_open_writer) {
    store.m_finish_open_writer();
  }
  if (store.m_open_writer) {
    throw std::logic_error("a transaction is already open on this connection of the store");
  }
  auto& db = *store.m_db;
  if (bulk_orders && store.order_count() == 0) {
    // Foreign keys can only be switched outside a transaction; the writer itself creates
    // every customer an order names (finish_bulk_orders), so the key still holds.
    db.exec("PRAGMA foreign_keys = OFF");
    // A first load into WAL writes every page twice (log, then checkpoint); the rollback
    // journal keeps only the few pages that existed before. SQLite refuses the switch while
    // another connection (a running daemon) has the store open, and the load stays in WAL.
    try {
      m_left_wal = db.execAndGet("PRAGMA journal_mode = DELETE").getString() == "delete";
    } catch (const SQLite::Exception&) {
      m_left_wal = false;
    }
    m_bulk = true;
  }
  m_transaction = std::make_unique<SQLite::Transaction>(db);
  store.m_open_writer = this;
  if (m_bulk) {
    db.exec("DROP INDEX orders_by_id; DROP INDEX orders_by_customer;");
  }
}

Store::Writer::~Writer()
{
  const bool rolled_back = m_store.m_open_writer == this;
  if (rolled_back) {
    m_store.m_open_writer = nullptr;
  }
  m_statements.clear();
  m_store.reset_kept_statements();
  m_transaction.reset(); // rolls back unless committed, indexes included
  if (rolled_back && m_event_keys_touched) {
    forget_rolled_back_event_keys(true);
  }
  if (m_bulk) {
    try {
      if (m_left_wal) {
        m_store.m_db->exec("PRAGMA journal_mode = WAL");
      }
      m_store.m_db->exec("PRAGMA foreign_keys = ON");
    } catch (const std::exception&) {
      // A destructor must not throw; the next Store::open switches them on again.
    }
  }
}

void
Store::Writer::commit()
{
  if (m_event_keys_read) {
    // A slice at least twice what this transaction added, so that merges keep ahead.
    merge_event_keys(std::max<std::size_t>(256, 2 * m_events_inserted));
  }
  m_store.reset_kept_statements(); // none keeps a read open past the commit
  m_transaction->commit();
  m_store.m_open_writer = nullptr;
  if (m_merge_completed) {
    m_store.m_recent_keys.forget_through(m_merge_completed);
  }
  m_store.m_recent_keys.trim(std::max<std::size_t>(1024, 4 * m_events_inserted));
}

// Prepared once per connection: an import runs the same few statements millions of times,
// and the event API's writer of a few hundred events was a tenth slower preparing its
// statements again. Statement texts built from data (upsert_customer's columns) could be
// many: past a bound, new ones are kept by the writer only. Every caller binds all
// parameters, so a reset is enough between uses.
SQLite::Statement&
Store::Writer::statement(const std::string& sql)
{
  constexpr std::size_t most_kept = 256;
  auto& kept = m_store.m_statements;
  auto it = kept.find(sql);
  if (it == kept.end()) {
    it = m_statements.find(sql);
    if (it == m_statements.end()) {
      auto& into = kept.size() < most_kept ? kept : m_statements;
      return *into.emplace(sql, std::make_unique<SQLite::Statement>(*m_store.m_db, sql)).first->second;
    }
  }
  it->second->reset();
  return *it->second;
}

void
Store::reset_kept_statements() noexcept
{
  for (auto& [sql, statement] : m_statements) {
    statement->tryReset(); // an error of its last step was reported then
  }
}

void
Store::Writer::append_orders(const OrderRow* rows, std::size_t count)
{
  // Many rows per statement: one step instead of one per row (SQLite's per-statement work
  // was most of the inserting thread's time).
  constexpr std::size_t rows_per_statement = 128;
  static const std::string many = [] {
    std::string sql = "INSERT INTO orders (order_id, customer_id, ordered_at, amount_cents, currency, category) VALUES ";
    for (std::size_t k = 0; k < rows_per_statement; ++k) {
      sql += k ? ", (?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?)";
    }
    return sql;
  }();
  std::size_t done = 0;
  SQLite::Statement* batch = nullptr; // looked up once per call: its key is 4 KiB of SQL
  for (; done + rows_per_statement <= count; done += rows_per_statement) {
    if (batch) {
      batch->reset();
    } else {
      batch = &statement(many);
    }
    for (std::size_t k = 0; k < rows_per_statement; ++k) {
      bind_order(*batch, rows[done + k], static_cast<int>(6 * k));
    }
    batch->exec();
  }
  for (; done < count; ++done) {
    auto& insert = statement("INSERT INTO orders (order_id, customer_id, ordered_at, amount_cents, currency, category) "
                             "VALUES (?, ?, ?, ?, ?, ?)");
    bind_order(insert, rows[done]);
    insert.exec();
  }
}

void
Store::Writer::note_bulk_customer(const std::string& customer_id)
{
  if (!m_bulk_customers.empty() && m_bulk_customers.back() == customer_id) {
    return; // exports often group orders by customer
  }
  m_bulk_customers.push_back(customer_id);
  if (m_bulk_customers.size() >= m_bulk_customers_limit) { // orders not grouped: keep the memory bounded
    std::sort(m_bulk_customers.begin(), m_bulk_customers.end());
    m_bulk_customers.erase(std::unique(m_bulk_customers.begin(), m_bulk_customers.end()), m_bulk_customers.end());
    m_bulk_customers_limit = std::max(m_bulk_customers_limit, 2 * m_bulk_customers.size());
  }
}

bool
Store::Writer::finish_bulk_orders(std::int64_t now)
{
  // In key order, the customers' B-tree is walked once instead of at random. The ids stay
  // in their list; they are sorted by their first 8 bytes as one number (most ids are that
  // short) and through pointers when those are equal, in two halves on two threads.
  struct Key
  {
    std::uint64_t prefix;
    const std::string* id;
  };
  std::vector<Key> ids;
  ids.reserve(m_bulk_customers.size());
  for (const auto& id : m_bulk_customers) {
    std::uint64_t prefix = 0;
    for (std::size_t k = 0; k < 8; ++k) {
      prefix = prefix << 8 | (k < id.size() ? static_cast<unsigned char>(id[k]) : 0U);
    }
    ids.push_back({prefix, &id});
  }
  const auto by_id = [](const Key& a, const Key& b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : *a.id < *b.id;
  };
  const auto middle = ids.begin() + static_cast<std::ptrdiff_t>(ids.size() / 2);
  {
    std::jthread other([&] { std::sort(ids.begin(), middle, by_id); });
    std::sort(middle, ids.end(), by_id);
  }
  std::inplace_merge(ids.begin(), middle, ids.end(), by_id);
  ids.erase(std::unique(ids.begin(), ids.end(), [](const Key& a, const Key& b) { return *a.id == *b.id; }), ids.end());
  // The customers already stored (usually all of them: customers are imported first) are
  // left out by walking their key alongside the sorted ids, when that is shorter than looking
  // each id up: a scan of the key costs about a tenth of a lookup per customer.
  const auto stored = m_store.m_db->execAndGet("SELECT coalesce(max(rowid), 0) FROM customers").getInt64();
  if (stored > 0 && static_cast<std::uint64_t>(stored) < 10 * ids.size()) {
    RawStatement existing(m_store.m_db->getHandle(), "SELECT customer_id FROM customers ORDER BY customer_id");
    std::size_t kept = 0;
    std::size_t k = 0;
    bool more = existing.step();
    while (k < ids.size() && more) {
      const auto id = existing.text(0);
      const auto c = id.compare(*ids[k].id);
      if (c < 0) {
        more = existing.step();
        continue;
      }
      if (c > 0) {
        ids[kept++] = ids[k];
      }
      ++k;
    }
    for (; k < ids.size(); ++k) {
      ids[kept++] = ids[k];
    }
    ids.resize(kept);
  }
  // Many customers per statement, as for the orders: a million of them one by one took 2 s.
  constexpr std::size_t per_statement = 128;
  static const std::string many = [] {
    std::string sql = "INSERT OR IGNORE INTO customers (customer_id, created_at) VALUES ";
    for (std::size_t k = 0; k < per_statement; ++k) {
      sql += k ? ", (?, ?1)" : "(?2, ?1)"; // ?1 is the time, ?2 onwards the ids
    }
    return sql;
  }();
  std::size_t done = 0;
  for (; done + per_statement <= ids.size(); done += per_statement) {
    auto& insert = statement(many);
    insert.bind(1, static_cast<int64_t>(now));
    for (std::size_t k = 0; k < per_statement; ++k) {
      insert.bindNoCopy(static_cast<int>(k) + 2, *ids[done + k].id);
    }
    insert.exec();
  }
  for (; done < ids.size(); ++done) {
    ensure_customer(*ids[done].id, now);
  }
  ids.clear();
  m_bulk_customers = {};
  auto& db = *m_store.m_db;
  db.exec("PRAGMA threads = " + std::to_string(std::max(1U, std::thread::hardware_concurrency())));
  db.exec("PRAGMA cache_size = -" + std::to_string(sort_cache_kib));
  struct Restore
  {
    SQLite::Database& db;
    ~Restore()
    {
      try {
        db.exec("PRAGMA cache_size = -" + std::to_string(cache_kib));
      } catch (const std::exception&) {
        // Only the cache's size: the connection works on with the smaller one.
      }
    }
  } restore{db};
  try {
    db.exec(order_indexes);
  } catch (const SQLite::Exception& e) {
    if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE) {
      return false; // an order_id twice in the file: the caller takes the row-by-row path
    }
    throw;
  }
  return true;
}

void
Store::Writer::ensure_customer(const std::string& customer_id, std::int64_t now)
{
  auto& insert = statement("INSERT OR IGNORE INTO customers (customer_id, created_at) VALUES (?, ?)");
  insert.bindNoCopy(1, customer_id);
  insert.bind(2, static_cast<int64_t>(now));
  insert.exec();
}

void
Store::Writer::upsert_customer(const CustomerRow& row, std::int64_t now)
{
  // One statement per customer. The set of columns is the file's, so the statement text is
  // the same for every row of a file and is prepared once. ?1 is the id, ?2 the time.
  std::string columns = "customer_id, created_at";
  std::string values = "?1, ?2";
  std::string updates;
  int parameter = 2;
  const auto& known = customer_fields();
  for (const auto& [name, value] : row.fields) {
    // Column names come from the fixed list, never from input.
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      throw std::logic_error("not a customer column: " + name);
    }
    columns += ", " + name;
    values += ", ?" + std::to_string(++parameter);
    updates += (updates.empty() ? "" : ", ") + name + " = excluded." + name;
  }
  std::vector<std::pair<int, bool>> consents;
  for (const auto& [channel, given] : {std::pair{"email", row.email_consent}, std::pair{"sms", row.sms_consent}}) {
    if (!given) {
      continue;
    }
    const std::string c = std::string(channel) + "_consent";
    const auto p = "?" + std::to_string(++parameter);
    consents.emplace_back(parameter, *given);
    columns += ", " + c + ", " + c + "_at";
    values += ", " + p + ", CASE WHEN " + p + " THEN ?2 END";
    // The time is when the consent last changed, so an unchanged re-import keeps it.
    updates += (updates.empty() ? "" : ", ") + c + "_at = CASE WHEN " + c + " != excluded." + c + " THEN ?2 ELSE " + c +
               "_at END, " + c + " = excluded." + c;
  }
  auto& upsert = statement("INSERT INTO customers (" + columns + ") VALUES (" + values + ") ON CONFLICT (customer_id) DO " +
                           (updates.empty() ? "NOTHING" : "UPDATE SET " + updates));
  upsert.bindNoCopy(1, row.customer_id);
  upsert.bind(2, static_cast<int64_t>(now));
  parameter = 2;
  for (const auto& [name, value] : row.fields) {
    if (value.empty()) {
      upsert.bind(++parameter);
    } else {
      upsert.bindNoCopy(++parameter, value);
    }
  }
  for (const auto& [index, given] : consents) {
    upsert.bind(index, given ? 1 : 0);
  }
  upsert.exec();
  for (const auto& [name, value] : row.profile) {
    auto& profile = statement("INSERT INTO customer_profile (customer_id, name, value) VALUES (?, ?, ?) "
                              "ON CONFLICT (customer_id, name) DO UPDATE SET value = excluded.value");
    profile.bindNoCopy(1, row.customer_id);
    profile.bindNoCopy(2, name);
    profile.bindNoCopy(3, value);
    profile.exec();
  }
}

InsertOutcome
Store::Writer::insert_order(const OrderRow& row)
{
  auto& insert = statement("INSERT OR IGNORE INTO orders (order_id, customer_id, ordered_at, amount_cents, "
                               "currency, category) VALUES (?, ?, ?, ?, ?, ?)");
  bind_order(insert, row);
  if (insert.exec() == 1) {
    return InsertOutcome::inserted;
  }
  return compare_order(row); // the id exists: the same order, or a conflict
}

InsertOutcome
Store::Writer::compare_order(const OrderRow& row)
{
  auto& same = statement("SELECT customer_id = ? AND ordered_at = ? AND amount_cents = ? AND currency = ? "
                         "AND category = ? FROM orders WHERE order_id = ?");
  same.bind(1, row.customer_id);
  same.bind(2, static_cast<int64_t>(row.ordered_at));
  same.bind(3, static_cast<int64_t>(row.amount_cents));
  same.bind(4, row.currency);
  same.bind(5, row.category);
  same.bind(6, row.order_id);
  if (!same.executeStep()) {
    return InsertOutcome::inserted;
  }
  return same.getColumn(0).getInt() ? InsertOutcome::unchanged : InsertOutcome::conflict;
}

void
Store::keep_temporaries_in_memory()
{
  m_db->exec("PRAGMA temp_store = MEMORY");
}

void
Store::sync_every_commit()
{
  m_db->exec("PRAGMA synchronous = FULL");
}

void
Store::checkpoint_elsewhere(int pages, std::function<void()> full)
{
  m_wal_hook = std::make_unique<WalHook>(WalHook{pages, std::move(full)});
  // Replaces SQLite's automatic checkpoint on this connection (which is a WAL hook too).
  sqlite3_wal_hook(
    m_db->getHandle(),
    [](void* hook, sqlite3*, const char*, int in_wal) {
      const auto& h = *static_cast<WalHook*>(hook);
      if (in_wal >= h.pages) {
        try {
          h.full();
        } catch (...) {
          // Nothing may unwind through SQLite's C frames; the next commit asks again.
        }
      }
      return SQLITE_OK;
    },
    m_wal_hook.get());
}

int
Store::checkpoint()
{
  int in_wal = 0;
  int copied = 0;
  const int rc =
    sqlite3_wal_checkpoint_v2(m_db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &in_wal, &copied);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    throw SQLite::Exception(m_db->getHandle(), rc);
  }
  return in_wal - copied;
}

void
Store::Writer::savepoint()
{
  m_store.m_db->exec("SAVEPOINT request");
}

void
Store::Writer::release_savepoint()
{
  m_store.m_db->exec("RELEASE request");
}

void
Store::Writer::rollback_to_savepoint()
{
  m_store.m_db->exec("ROLLBACK TO request");
  m_store.m_db->exec("RELEASE request");
  if (m_event_keys_touched) {
    forget_rolled_back_event_keys(false);
  }
}

bool
Store::Writer::remember_message_id(const std::string& message_id, std::int64_t at)
{
  auto& insert = statement("INSERT OR IGNORE INTO ingested_messages (message_id, at) VALUES (?, ?)");
  insert.bind(1, message_id);
  insert.bind(2, static_cast<int64_t>(at));
  return insert.exec() == 1;
}

std::int64_t
Store::customer_count() const
{
  return m_db->execAndGet("SELECT count(*) FROM customers").getInt64();
}

std::int64_t
Store::order_count() const
{
  return m_db->execAndGet("SELECT count(*) FROM orders").getInt64();
}

std::int64_t
Store::event_count() const
{
  return m_db->execAndGet("SELECT count(*) FROM events").getInt64();
}

namespace {

// Rows of (customer_id, ordered_at, amount_cents); one Purchase reused for all of them.
void
visit_purchases(SQLite::Statement& query, const std::function<void(const Purchase&)>& visit)
{
  Purchase row;
  while (query.executeStep()) {
    const auto id = query.getColumn(0);
    row.customer_id.assign(id.getText(), static_cast<std::size_t>(id.getBytes()));
    row.ordered_at = query.getColumn(1).getInt64();
    row.amount_cents = query.getColumn(2).getInt64();
    visit(row);
  }
}

} // namespace

void
Store::for_each_order(std::int64_t until, const std::function<void(const Purchase&)>& visit) const
{
  // Answered from orders_by_customer alone (it covers these columns): one sequential scan.
  SQLite::Statement query(*m_db, "SELECT customer_id, ordered_at, amount_cents FROM orders INDEXED BY orders_by_customer "
                                 "WHERE ordered_at <= ? ORDER BY customer_id, ordered_at");
  query.bind(1, static_cast<int64_t>(until));
  visit_purchases(query, visit);
}

void
Store::for_each_order_totals(std::int64_t until, const std::function<void(const OrderTotals&)>& visit) const
{
  // Answered from orders_by_customer alone, in key order, so a customer's orders are
  // consecutive.
  RawStatement query(m_db->getHandle(), "SELECT customer_id, ordered_at, amount_cents FROM orders INDEXED BY "
                                        "orders_by_customer ORDER BY customer_id, ordered_at");
  std::string id;
  OrderTotals totals;
  bool any = false;
  const auto flush = [&] {
    if (any) {
      totals.customer_id = id;
      visit(totals);
    }
  };
  while (query.step()) {
    const auto row_id = query.text(0);
    if (!any || row_id != id) {
      flush();
      id.assign(row_id);
      totals = OrderTotals{};
      any = true;
    }
    const std::int64_t at = query.integer(1);
    if (at > until) {
      totals.later = true;
      continue;
    }
    if (totals.orders == 0) {
      totals.first_at = at;
    }
    totals.last_at = at;
    ++totals.orders;
    totals.cents += query.integer(2);
  }
  flush();
}

namespace {

StoredCustomer
read_customer(SQLite::Statement& query)
{
  StoredCustomer c;
  c.customer_id = query.getColumn(0).getString();
  const auto& fields = customer_fields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto column = query.getColumn(static_cast<int>(i) + 1);
    if (!column.isNull()) {
      c.fields[fields[i]] = column.getString();
    }
  }
  c.email_consent = query.getColumn(static_cast<int>(fields.size()) + 1).getInt() != 0;
  c.sms_consent = query.getColumn(static_cast<int>(fields.size()) + 2).getInt() != 0;
  return c;
}

const char* const customer_columns = "customer_id, email, phone, first_name, last_name, timezone, country, "
                                     "acquisition_channel, email_consent, sms_consent";

} // namespace

void
Store::for_each_event(std::int64_t after, std::int64_t until, const std::function<void(const EventRow&)>& visit,
                      Arrivals arrivals, const std::set<std::string>* types) const
{
  // Each kind of question through the index that answers it: the types a cycle asks about
  // (events_by_type), the rows stored since a moment (by event_id), or the time (events_by_time).
  std::string sql = "SELECT customer_id, type, at, properties, event_id FROM events ";
  if (types) {
    if (types->empty()) {
      return;
    }
    sql += "INDEXED BY events_by_type WHERE type IN (";
    for (std::size_t k = 0; k < types->size(); ++k) {
      sql += k ? ", ?" : "?";
    }
    sql += ") AND at > :after AND at <= :until AND +event_id > :first AND +event_id <= :last";
  } else if (arrivals.after > 0) {
    sql += "WHERE event_id > :first AND event_id <= :last AND +at > :after AND +at <= :until";
  } else {
    sql += "INDEXED BY events_by_time WHERE at > :after AND at <= :until AND +event_id > :first AND +event_id <= :last";
  }
  sql += " ORDER BY at, event_id";
  RawStatement query(m_db->getHandle(), sql);
  int k = 0;
  if (types) {
    for (const auto& type : *types) {
      query.bind(++k, std::string_view(type));
    }
  }
  const auto named = [&](const char* name, std::int64_t value) {
    query.bind(sqlite3_bind_parameter_index(query.handle(), name), value);
  };
  named(":after", after);
  named(":until", until);
  named(":first", arrivals.after);
  named(":last", arrivals.upto);
  EventRow row;
  while (query.step()) {
    row.customer_id.assign(query.text(0));
    row.type.assign(query.text(1));
    row.at = query.integer(2);
    row.properties.assign(query.text(3));
    visit(row);
  }
}

void
Store::for_each_customer_view(const std::function<void(const CustomerView&)>& visit) const
{
  SQLite::Statement profile(*m_db, "SELECT customer_id, name, value FROM customer_profile ORDER BY customer_id, name");
  bool more_profile = profile.executeStep();
  RawStatement query(m_db->getHandle(),
                     std::string("SELECT ") + customer_columns + " FROM customers ORDER BY customer_id");
  const auto text = [](const SQLite::Column& c) {
    return std::string_view(c.getText(), static_cast<std::size_t>(c.getBytes()));
  };
  const auto field_count = static_cast<int>(customer_fields().size());
  CustomerView v;
  v.fields.resize(static_cast<std::size_t>(field_count));
  while (query.step()) {
    v.customer_id = query.text(0); // the row stays put while the profile statement steps
    for (int k = 0; k < field_count; ++k) {
      v.fields[static_cast<std::size_t>(k)] =
        query.is_null(k + 1) ? std::nullopt : std::optional<std::string_view>(query.text(k + 1));
    }
    v.email_consent = query.integer(field_count + 1) != 0;
    v.sms_consent = query.integer(field_count + 2) != 0;
    v.profile.clear();
    while (more_profile && text(profile.getColumn(0)) < v.customer_id) {
      more_profile = profile.executeStep();
    }
    while (more_profile && text(profile.getColumn(0)) == v.customer_id) {
      v.profile.emplace_back(profile.getColumn(1).getString(), profile.getColumn(2).getString());
      more_profile = profile.executeStep();
    }
    visit(v);
  }
}

std::int64_t
Store::last_order_seq() const
{
  return m_db->execAndGet("SELECT coalesce(max(seq), 0) FROM orders").getInt64();
}

std::int64_t
Store::last_event_id() const
{
  return m_db->execAndGet("SELECT coalesce(max(event_id), 0) FROM events").getInt64();
}

std::optional<StoredCustomer>
Store::customer(const std::string& customer_id) const
{
  SQLite::Statement query(*m_db, std::string("SELECT ") + customer_columns + " FROM customers WHERE customer_id = ?");
  query.bind(1, customer_id);
  if (!query.executeStep()) {
    return std::nullopt;
  }
  auto c = read_customer(query);
  SQLite::Statement profile(*m_db, "SELECT name, value FROM customer_profile WHERE customer_id = ?");
  profile.bind(1, customer_id);
  while (profile.executeStep()) {
    c.profile[profile.getColumn(0).getString()] = profile.getColumn(1).getString();
  }
  return c;
}

} // namespace cvmd
