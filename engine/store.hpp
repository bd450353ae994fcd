#pragma once
// The embedded store: SQLite in WAL mode with foreign keys, migrated on open. All SQL of
// cvmd lives in store.cpp, with bound parameters only; the rest of the engine sees typed
// rows. A PostgreSQL backend later implements the same operations.

#include "engine/digest_filter.hpp"
#include "engine/plan.hpp"
#include "engine/recent_event_keys.hpp"
#include "engine/result.hpp"
#include "engine/timeline.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <string>
#include <string_view>
#include <vector>

namespace SQLite {
class Database;
class Statement;
class Transaction;
} // namespace SQLite

namespace cvmd {

struct CustomerRow
{
  std::string customer_id;
  // Only the fields present in an import overwrite stored values; absent ones are kept.
  std::map<std::string, std::string> fields;   // email, phone, first_name, ... (canonical)
  std::optional<bool> email_consent;
  std::optional<bool> sms_consent;
  std::map<std::string, std::string> profile;  // other columns
};

struct OrderRow
{
  std::string order_id;
  std::string customer_id;
  std::int64_t ordered_at = 0; // seconds since the epoch, UTC
  std::int64_t amount_cents = 0;
  std::string currency;
  std::string category;
};

// What the snapshot and the models read of an order.
struct Purchase
{
  std::string customer_id;
  std::int64_t ordered_at = 0;
  std::int64_t amount_cents = 0;
};

struct EventRow
{
  std::string customer_id;
  std::string type;
  std::int64_t at = 0;
  std::string properties; // JSON object text, or empty
};

struct StoredCustomer
{
  std::string customer_id;
  std::map<std::string, std::string> fields;
  bool email_consent = false;
  bool sms_consent = false;
  std::map<std::string, std::string> profile;
};

// One customer row while it is read: views into the row, valid during the callback only.
// The snapshot reads a million of these; building maps of strings per row was its cost.
struct CustomerView
{
  std::string_view customer_id;
  std::vector<std::optional<std::string_view>> fields; // customer_fields() order; none: NULL
  bool email_consent = false;
  bool sms_consent = false;
  std::vector<std::pair<std::string, std::string>> profile;
};

// One customer's orders summed, while they are read: the id is valid during the callback only.
struct OrderTotals
{
  std::string_view customer_id;
  std::int64_t orders = 0;   // ordered at or before the moment asked for
  std::int64_t cents = 0;    // of those orders
  std::int64_t first_at = 0; // of those orders (when there are any)
  std::int64_t last_at = 0;
  bool later = false; // has orders after the moment
};

// Where rows sit in the order they were stored: orders by their seq, events by their id.
// A cycle of `cvmd run` remembers the last it saw, so that rows stored late (stamped before
// the previous cycle) still reach it once.
struct Arrivals
{
  std::int64_t after = 0;                                       // exclusive
  std::int64_t upto = std::numeric_limits<std::int64_t>::max(); // inclusive
};

enum class InsertOutcome { inserted, unchanged, conflict };

// One line of the outcome log: assigned, sent, delivered, bounced, opened, clicked,
// unsubscribed, converted (with revenue). Message outcomes carry the message's key.
struct OutcomeRow
{
  std::string message_key;
  std::uint64_t enrollment = 0;
  std::string customer_id;
  std::string scenario;
  std::string experiment; // assignments only
  std::string variant;
  std::string channel;
  std::string template_name;
  std::string outcome;
  std::int64_t at = 0;
  std::int64_t revenue_cents = 0;
};

// One customer's assignment in an experiment and what followed it in that enrollment.
struct AssignmentResult
{
  std::uint64_t enrollment = 0;
  std::string scenario;
  std::string experiment;
  std::string variant;
  std::string customer_id;
  std::int64_t at = 0;
  double probability = 1;
  bool active = false; // the enrollment is still running
  bool sent = false;
  bool opened = false;
  bool clicked = false;
  bool unsubscribed = false;
  bool converted = false;
  std::int64_t revenue_cents = 0;
};

// What a scenario did: enrollments, how many of them each outcome reached, the outbox's
// states, and suppressions grouped by kind of reason.
struct ScenarioActivity
{
  std::string scenario;
  std::int64_t entered = 0;
  std::int64_t active = 0;
  std::int64_t converted = 0;
  std::int64_t revenue_cents = 0;
  std::map<std::string, std::int64_t> reached;    // outcome -> enrollments
  std::map<std::string, std::int64_t> messages;   // outbox state -> messages
  std::map<std::string, std::int64_t> suppressed; // reason -> decisions
};

// `cvmd outbox`: empty fields match everything.
struct OutboxFilter
{
  std::string state;
  std::string key;
  std::string customer;
  std::size_t limit = 100;
};

class Store
{
public:
  static constexpr int schema_version = 11;

  static Result<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int version() const;
  // A consistent copy of the whole store in a new file (VACUUM INTO): the original is not
  // touched. Fails when `path` exists.
  Result<bool> copy_to(const std::string& path) const;
  const std::string& path() const { return m_path; }

  // One writer transaction; nothing is visible or durable until commit().
  class Writer
  {
  public:
    // bulk_orders: when the orders table is empty, its indexes are dropped and built once
    // at the end (finish_bulk_orders) and orders are appended with append_orders; a first
    // load of millions of orders then sorts once instead of inserting at random.
    explicit Writer(Store& store, bool bulk_orders = false);
    ~Writer(); // rolls back unless committed
    void commit();
    bool bulk() const { return m_bulk; }
    void append_orders(const OrderRow* rows, std::size_t count); // the rows outlive the call
    // The customer of each appended order, in any order; may be called on another thread
    // than append_orders (the thread reading the file), but not during finish_bulk_orders.
    void note_bulk_customer(const std::string& customer_id);
    // Creates the noted customers that are not stored yet and builds the indexes. False: an
    // order_id appears twice; nothing is usable, the caller rolls back and imports row by row.
    bool finish_bulk_orders(std::int64_t now);

    // The durable plan (store_plan.cpp).
    void set_meta_time(const std::string& name, std::int64_t value);
    void save_scenario_version(const std::string& scenario, const std::string& version, const std::string& file,
                               const std::string& source, std::int64_t now);
    void mark_launched(const std::string& scenario, std::int64_t at);
    void save_program_sources(const std::string& sources_json, std::int64_t now);
    void replace_matches(const std::string& scenario, const std::vector<std::string>& customers);
    void save_enrollment(const EnrollmentRecord& e);
    void save_decision(const Decision& d);
    // False when the key is already there: the message was planned before.
    bool queue_message(const OutboxMessage& m);
    // The outcome of an attempt on a pending message; false when it was not pending any more.
    bool record_delivery(const DeliveryRecord& record);
    // An operator's `cvmd outbox retry|discard`: the message with `key` (empty: every one)
    // in `from_state`; returns how many changed.
    int requeue_messages(const std::string& key, const std::string& from_state, std::int64_t now);
    int discard_messages(const std::string& key, const std::string& from_state, std::int64_t now);

    void upsert_customer(const CustomerRow& row, std::int64_t now);
    void ensure_customer(const std::string& customer_id, std::int64_t now);
    // unchanged: the same order is already stored; conflict: same id, other values.
    InsertOutcome insert_order(const OrderRow& row);
    // inserted: no order with this id yet; unchanged: the same; conflict: other values.
    InsertOutcome compare_order(const OrderRow& row);
    // With a message id (the event API's messageId), a repeat is the same id, type, time and
    // customer, whatever the properties; without, the same customer, type, time and properties.
    InsertOutcome insert_event(const EventRow& row, const std::string& message_id = {});
    // A nested unit inside the transaction: one request of a group commit.
    void savepoint();
    void release_savepoint();
    void rollback_to_savepoint();
    // False when the messageId was taken before (the event API's idempotency).
    bool remember_message_id(const std::string& message_id, std::int64_t at);

  private:
    SQLite::Statement& statement(const std::string& sql);
    // The event keys (store_event_keys.cpp): those stored by other connections since this
    // one last looked, read once per writer before its first event.
    void read_recent_event_keys();
    bool stored_already(const EventRow& row, const std::string& message_id, std::int64_t key);
    // Moves the next `keys` keys of the merge under way (or of one begun now) to event_keys.
    void merge_event_keys(std::size_t keys);
    void forget_rolled_back_event_keys(bool whole_transaction) noexcept;
    int change_messages(const std::string& key, const std::string& from_state, const std::string& to_state,
                        std::int64_t now);

    Store& m_store;
    std::unique_ptr<SQLite::Transaction> m_transaction;
    std::map<std::string, std::unique_ptr<SQLite::Statement>> m_statements;
    bool m_bulk = false;
    bool m_left_wal = false; // bulk load in the rollback journal; WAL again afterwards
    // The customers of a bulk load as they came (a repeat of the previous one left out), sorted
    // and made unique when the list doubles; a hash set cost the reading thread a tenth of its time.
    std::vector<std::string> m_bulk_customers;
    std::size_t m_bulk_customers_limit = std::size_t{1} << 20;
    bool m_event_keys_read = false;    // this transaction's view of other connections' events (read again after a savepoint rollback)
    bool m_event_keys_touched = false; // memory was read or changed for this transaction: a rollback must mend it
    std::int64_t m_events_before = 0;  // the last event stored before this transaction's first
    bool m_event_keys_merged_whole = false; // memory forgot keys this transaction may take back
    std::size_t m_events_inserted = 0;
    std::int64_t m_merge_completed = 0; // commit() makes event_keys hold the events through it
  };

  std::int64_t customer_count() const;
  std::int64_t order_count() const;
  std::int64_t event_count() const;

  // Orders up to `until` (inclusive), grouped by customer and in time order.
  void for_each_order(std::int64_t until, const std::function<void(const Purchase&)>& visit) const;
  // Every customer with orders, in key order, their orders summed as of `until`.
  void for_each_order_totals(std::int64_t until, const std::function<void(const OrderTotals&)>& visit) const;
  // A second, read-only connection to the same store, for reading on another thread.
  Result<std::unique_ptr<Store>> reader() const;
  void for_each_customer_view(const std::function<void(const CustomerView&)>& visit) const;
  // Events stamped in (after, until] and stored in `arrivals`, in time order; with `types`,
  // only events of those types.
  void for_each_event(std::int64_t after, std::int64_t until, const std::function<void(const EventRow&)>& visit,
                      Arrivals arrivals = {}, const std::set<std::string>* types = nullptr) const;
  // Orders stamped in (after, until] and stored in `arrivals`, in time order (all columns).
  void for_each_order_between(std::int64_t after, std::int64_t until, const std::function<void(const OrderRow&)>& visit,
                              Arrivals arrivals = {}) const;
  std::int64_t last_order_seq() const;
  std::int64_t last_event_id() const;

  // The durable plan (store_plan.cpp).
  std::optional<std::int64_t> meta_time(const std::string& name) const;
  // Enrollments still running, and ended ones whose goal may still convert (goal window
  // opened at or after `goals_since`).
  std::vector<EnrollmentRecord> open_enrollments(std::int64_t goals_since) const;
  // The last entry of each customer into each scenario: (customer, scenario, entered_at).
  void for_each_entry(const std::function<void(const std::string&, const std::string&, std::int64_t)>& visit) const;
  std::uint64_t last_enrollment_id() const;
  std::set<std::string> launched_scenarios() const;
  // Scenarios whose matches at the end of the last cycle are kept, and those matches.
  std::set<std::string> remembered_scenarios() const;
  void for_each_match(const std::function<void(const std::string& scenario, const std::string& customer)>& visit) const;
  // Statement journals (a savepoint per request of a group commit) in memory instead of a
  // temporary file: for the daemon's small writes, not for imports that sort millions of rows.
  void keep_temporaries_in_memory();
  // Every commit on this connection synced to disk before it returns (SQLite's synchronous =
  // FULL); by default a commit reaches the file system and is synced at the next checkpoint.
  void sync_every_commit();
  // The WAL is checkpointed by `checkpoint()`, called elsewhere, instead of inside the commit
  // that fills it: `full` is called after each commit that leaves at least `pages` pages in
  // the WAL (on the committing thread; it must be quick).
  void checkpoint_elsewhere(int pages, std::function<void()> full);
  // Whoever keeps a transaction open across calls (the event API's group commit) says how
  // to end it: a Writer begun on this connection while it is open calls `finish` first,
  // since SQLite transactions on one connection cannot nest. Empty: none.
  void finish_open_writer_with(std::function<void()> finish) { m_finish_open_writer = std::move(finish); }
  // How many keys of new events wait in memory before they are merged into event_keys (a
  // merge then takes a slice per commit; four times as many are merged at once). For tests.
  void hold_recent_event_keys(std::size_t keys) { m_recent_keys_limit = keys; }
  // A passive checkpoint: copies what no reader still needs into the store, without
  // waiting for the writers (a daemon's other thread). Returns the pages left in the WAL.
  int checkpoint();
  // The last scenario files that passed their check (JSON, see command_run) and when.
  std::optional<std::pair<std::string, std::int64_t>> last_good_sources() const;
  // The source of a scenario version: {file, text}.
  std::optional<std::pair<std::string, std::string>> scenario_source(const std::string& scenario, const std::string& version) const;
  // Every message in the outbox, for caps and `received` (customer, scenario, template, due).
  void for_each_message(const std::function<void(const OutboxMessage&)>& visit) const;
  // Whether the customer has an `unsubscribed` event for the channel (or for all).
  bool unsubscribed(const std::string& customer_id, const std::string& channel) const;
  // Pending messages of scenarios (not test sends) whose next attempt is due by `until`.
  std::vector<OutboxMessage> pending_messages(std::int64_t until) const;
  std::vector<OutboxMessage> outbox(const OutboxFilter& filter) const;
  std::map<std::string, std::int64_t> outbox_counts() const; // by state
  // (channel, state) -> messages, and the oldest due pending message's next attempt.
  std::map<std::pair<std::string, std::string>, std::int64_t> outbox_counts_by_channel() const;
  std::optional<std::int64_t> oldest_due(std::int64_t now) const;
  std::optional<StoredCustomer> customer(const std::string& customer_id) const;

  // The outcome log (store_outcomes.cpp); an empty scenario means all.
  void for_each_outcome(const std::string& scenario, const std::function<void(const OutcomeRow&)>& visit) const;
  std::vector<AssignmentResult> assignment_results(const std::string& scenario) const;
  std::vector<ScenarioActivity> scenario_activity() const;

private:
  Store(std::string path, std::unique_ptr<SQLite::Database> db);
  void migrate();
  void reset_kept_statements() noexcept;

  struct WalHook
  {
    int pages = 0;
    std::function<void()> full;
  };

  std::string m_path;
  std::unique_ptr<WalHook> m_wal_hook; // outlives the connection
  std::unique_ptr<SQLite::Database> m_db;
  const Writer* m_open_writer = nullptr; // its transaction is not committed yet
  std::function<void()> m_finish_open_writer;
  std::map<std::string, std::unique_ptr<SQLite::Statement>> m_statements; // the writers', see Writer::statement
  RecentEventKeys m_recent_keys;
  std::int64_t m_recent_keys_seen = -1; // the last event reflected in m_recent_keys; -1: none read
  std::size_t m_recent_keys_limit = std::size_t{1} << 17;
  DigestFilter m_stored_digests;     // the keys (event_key) of every event through m_stored_digests_seen
  bool m_stored_digests_read = false; // from event_keys, once per connection
  std::int64_t m_stored_digests_seen = 0;
};

// What stands for an event's customer, type and properties in the events' key (XXH64).
std::int64_t event_digest(std::string_view customer_id, std::string_view type, std::string_view properties);
// What a retry of an event is found by: its digest and its time (XXH64). The digest alone
// is the same for all of a customer's alike events (a page viewed every day), which a
// look-up would then have to walk.
std::int64_t event_key(std::int64_t digest, std::int64_t at);

// The canonical customer columns besides customer_id and the consents.
const std::vector<std::string>& customer_fields();

} // namespace cvmd
