#include "engine/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <stdexcept>

namespace cvmd {

namespace {

// Each entry moves the schema one version up; applied in order, inside one transaction.
const char* const migrations[] = {
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
};

} // namespace

const std::vector<std::string>&
customer_fields()
{
  static const std::vector<std::string> fields = {"email", "phone", "first_name", "last_name",
                                                  "timezone", "country", "acquisition_channel"};
  return fields;
}

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
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA foreign_keys = ON");
    db->exec("PRAGMA synchronous = NORMAL");
    db->exec("PRAGMA cache_size = -65536"); // 64 MiB: imports touch the whole orders index
    db->setBusyTimeout(5000);
    std::unique_ptr<Store> store(new Store(path, std::move(db)));
    store->migrate();
    return store;
  } catch (const std::exception& e) {
    return Result<std::unique_ptr<Store>>::failure(path + ": cannot open the store: " + e.what());
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

Store::Writer::Writer(Store& store)
  : m_store(store),
    m_transaction(std::make_unique<SQLite::Transaction>(*store.m_db))
{
}

Store::Writer::~Writer() = default;

void
Store::Writer::commit()
{
  m_transaction->commit();
}

// Prepared once per writer: an import runs the same few statements millions of times.
SQLite::Statement&
Store::Writer::statement(const std::string& sql)
{
  auto it = m_statements.find(sql);
  if (it == m_statements.end()) {
    it = m_statements.emplace(sql, std::make_unique<SQLite::Statement>(*m_store.m_db, sql)).first;
  } else {
    it->second->reset();
    it->second->clearBindings();
  }
  return *it->second;
}

void
Store::Writer::ensure_customer(const std::string& customer_id, std::int64_t now)
{
  auto& insert = statement("INSERT OR IGNORE INTO customers (customer_id, created_at) VALUES (?, ?)");
  insert.bind(1, customer_id);
  insert.bind(2, static_cast<int64_t>(now));
  insert.exec();
}

void
Store::Writer::upsert_customer(const CustomerRow& row, std::int64_t now)
{
  ensure_customer(row.customer_id, now);
  for (const auto& [name, value] : row.fields) {
    // Column names come from the fixed list above, never from input.
    const auto& known = customer_fields();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      throw std::logic_error("not a customer column: " + name);
    }
    auto& update = statement("UPDATE customers SET " + name + " = ? WHERE customer_id = ?");
    if (value.empty()) {
      update.bind(1);
    } else {
      update.bind(1, value);
    }
    update.bind(2, row.customer_id);
    update.exec();
  }
  const auto consent = [&](const char* channel, const std::optional<bool>& given) {
    if (!given) {
      return;
    }
    // The time is when the consent last changed, so an unchanged re-import keeps it.
    auto& update = statement(std::string("UPDATE customers SET ") + channel + "_consent = ?, " + channel +
                                   "_consent_at = ? WHERE customer_id = ? AND " + channel + "_consent != ?");
    update.bind(1, *given ? 1 : 0);
    update.bind(2, static_cast<int64_t>(now));
    update.bind(3, row.customer_id);
    update.bind(4, *given ? 1 : 0);
    update.exec();
  };
  consent("email", row.email_consent);
  consent("sms", row.sms_consent);
  for (const auto& [name, value] : row.profile) {
    auto& upsert = statement("INSERT INTO customer_profile (customer_id, name, value) VALUES (?, ?, ?) "
                                 "ON CONFLICT (customer_id, name) DO UPDATE SET value = excluded.value");
    upsert.bind(1, row.customer_id);
    upsert.bind(2, name);
    upsert.bind(3, value);
    upsert.exec();
  }
}

InsertOutcome
Store::Writer::insert_order(const OrderRow& row)
{
  auto& insert = statement("INSERT OR IGNORE INTO orders (order_id, customer_id, ordered_at, amount_cents, "
                               "currency, category) VALUES (?, ?, ?, ?, ?, ?)");
  insert.bind(1, row.order_id);
  insert.bind(2, row.customer_id);
  insert.bind(3, static_cast<int64_t>(row.ordered_at));
  insert.bind(4, static_cast<int64_t>(row.amount_cents));
  insert.bind(5, row.currency);
  insert.bind(6, row.category);
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

InsertOutcome
Store::Writer::insert_event(const EventRow& row)
{
  auto& insert = statement("INSERT OR IGNORE INTO events (customer_id, type, at, properties) VALUES (?, ?, ?, ?)");
  insert.bind(1, row.customer_id);
  insert.bind(2, row.type);
  insert.bind(3, static_cast<int64_t>(row.at));
  insert.bind(4, row.properties);
  return insert.exec() == 1 ? InsertOutcome::inserted : InsertOutcome::unchanged;
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

void
Store::for_each_order(std::int64_t until, const std::function<void(const OrderRow&)>& visit) const
{
  SQLite::Statement query(*m_db, "SELECT order_id, customer_id, ordered_at, amount_cents, currency, category "
                                 "FROM orders WHERE ordered_at <= ? ORDER BY customer_id, ordered_at");
  query.bind(1, static_cast<int64_t>(until));
  OrderRow row;
  while (query.executeStep()) {
    row.order_id = query.getColumn(0).getString();
    row.customer_id = query.getColumn(1).getString();
    row.ordered_at = query.getColumn(2).getInt64();
    row.amount_cents = query.getColumn(3).getInt64();
    row.currency = query.getColumn(4).getString();
    row.category = query.getColumn(5).getString();
    visit(row);
  }
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
Store::for_each_customer(const std::function<void(const StoredCustomer&)>& visit) const
{
  SQLite::Statement profile(*m_db, "SELECT customer_id, name, value FROM customer_profile ORDER BY customer_id");
  std::map<std::string, std::map<std::string, std::string>> profiles;
  while (profile.executeStep()) {
    profiles[profile.getColumn(0).getString()][profile.getColumn(1).getString()] = profile.getColumn(2).getString();
  }
  SQLite::Statement query(*m_db, std::string("SELECT ") + customer_columns + " FROM customers ORDER BY customer_id");
  while (query.executeStep()) {
    auto c = read_customer(query);
    if (auto it = profiles.find(c.customer_id); it != profiles.end()) {
      c.profile = std::move(it->second);
    }
    visit(c);
  }
}

std::unordered_map<std::string, std::int64_t>
Store::first_order_times() const
{
  std::unordered_map<std::string, std::int64_t> out;
  SQLite::Statement query(*m_db, "SELECT customer_id, min(ordered_at) FROM orders GROUP BY customer_id");
  while (query.executeStep()) {
    out.emplace(query.getColumn(0).getString(), query.getColumn(1).getInt64());
  }
  return out;
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
