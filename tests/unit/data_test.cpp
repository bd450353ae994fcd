// Store, import and customer state against real SQLite files in a temporary folder.
#include "engine/customer_state.hpp"
#include "engine/digest_filter.hpp"
#include "engine/importer.hpp"
#include "engine/recent_event_keys.hpp"
#include "engine/store.hpp"
#include "engine/values.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

namespace fs = std::filesystem;
using namespace cvmd;

namespace {

struct Workspace
{
  fs::path dir;
  Workspace()
  {
    dir = fs::temp_directory_path() / ("cvmd_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Workspace() { fs::remove_all(dir); }
  static int& counter()
  {
    static int n = 0;
    return n;
  }
  std::string file(const std::string& name, const std::string& text) const
  {
    const auto path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::unique_ptr<Store> store() const
  {
    auto s = Store::open((dir / "cvmd.db").string());
    REQUIRE(s);
    return std::move(*s);
  }
};

const std::int64_t now = *parse_time("2026-12-01T00:00:00Z");

ImportReport
import(Store& store, ImportKind kind, const std::string& path, bool skip_bad = false)
{
  ImportOptions options;
  options.now = now;
  options.skip_bad = skip_bad;
  auto report = import_file(store, kind, path, options);
  INFO((report ? std::string() : report.error()));
  REQUIRE(report);
  return *report;
}

// Events up to event_keys_through whose key is not in event_keys (none, if the store is right).
std::int64_t
events_missing_keys(const std::string& path)
{
  SQLite::Database db(path);
  const auto through = db.execAndGet("SELECT value FROM meta WHERE name = 'event_keys_through'").getInt64();
  std::set<std::pair<std::int64_t, std::int64_t>> keys;
  SQLite::Statement keyed(db, "SELECT hash, event_id FROM event_keys");
  while (keyed.executeStep()) {
    keys.emplace(keyed.getColumn(0).getInt64(), keyed.getColumn(1).getInt64());
  }
  std::int64_t missing = 0;
  SQLite::Statement events(db, "SELECT event_id, digest, at FROM events WHERE event_id <= ?");
  events.bind(1, static_cast<int64_t>(through));
  while (events.executeStep()) {
    const auto id = events.getColumn(0).getInt64();
    missing += !keys.count({event_key(events.getColumn(1).getInt64(), events.getColumn(2).getInt64()), id});
  }
  return missing;
}

dsl::AttrId
attr(const char* name)
{
  return static_cast<dsl::AttrId>(*dsl::find_attribute(name));
}

} // namespace

TEST_SUITE("store")
{
  TEST_CASE("a new store is migrated to the current schema and reopens as it is")
  {
    Workspace w;
    {
      auto store = w.store();
      CHECK(store->version() == Store::schema_version);
      CHECK(store->customer_count() == 0);
    }
    auto again = w.store();
    CHECK(again->version() == Store::schema_version);
    SQLite::Database db((w.dir / "cvmd.db").string());
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    CHECK(db.execAndGet("PRAGMA page_size").getInt() == 16384);
  }

  TEST_CASE("an existing store keeps its page size")
  {
    Workspace w;
    {
      SQLite::Database db((w.dir / "cvmd.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      db.exec("PRAGMA page_size = 4096; CREATE TABLE t (x); DROP TABLE t;");
    }
    auto store = w.store();
    CHECK(store->version() == Store::schema_version);
    store.reset();
    SQLite::Database db((w.dir / "cvmd.db").string());
    CHECK(db.execAndGet("PRAGMA page_size").getInt() == 4096);
  }

  TEST_CASE("a store from a newer cvmd is refused, not damaged")
  {
    Workspace w;
    {
      SQLite::Database db((w.dir / "cvmd.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      db.exec("PRAGMA user_version = 99");
    }
    auto store = Store::open((w.dir / "cvmd.db").string());
    REQUIRE_FALSE(store);
    CHECK(store.error().find("newer") != std::string::npos);
  }

  TEST_CASE("a writer begun while another is open on the connection has the open one finished first")
  {
    Workspace w;
    auto store = w.store();
    auto group = std::make_unique<Store::Writer>(*store);
    group->ensure_customer("c1", now);
    // Without someone to finish it, the second writer is refused with a plain reason.
    CHECK_THROWS_WITH_AS(Store::Writer{*store}, "a transaction is already open on this connection of the store",
                         std::logic_error);
    int finished = 0;
    store->finish_open_writer_with([&] {
      ++finished;
      group->commit();
      group.reset();
    });
    {
      Store::Writer link(*store);
      link.ensure_customer("c2", now);
      link.commit();
    }
    CHECK(finished == 1);
    CHECK(store->customer_count() == 2); // both committed, the group's first
    Store::Writer next(*store); // nothing open: nothing to finish
    CHECK(finished == 1);
  }

  TEST_CASE("an event is stored once whether its key waits in memory or was merged to disk")
  {
    Workspace w;
    auto store = w.store();
    store->hold_recent_event_keys(64); // merges begin after 64 keys, a slice per commit
    const auto event = [](int k) {
      return EventRow{"c" + std::to_string(k % 7), "product_viewed", now + k / 10, "{\"n\":" + std::to_string(k) + "}"};
    };
    const auto message_id = [](int k) { return "m" + std::to_string(k); };
    const auto store_all = [&](Store& into, int first, int last) {
      int inserted = 0;
      for (int k = first; k < last; k += 10) {
        Store::Writer writer(into);
        for (int j = k; j < std::min(k + 10, last); ++j) {
          writer.ensure_customer(event(j).customer_id, now);
          // Half with a messageId (the event API), half without (an import).
          inserted += writer.insert_event(event(j), j % 2 ? message_id(j) : "") == InsertOutcome::inserted;
        }
        writer.commit();
      }
      return inserted;
    };
    CHECK(store_all(*store, 0, 1000) == 1000);
    SQLite::Database db(store->path());
    const auto through = [&] { return db.execAndGet("SELECT value FROM meta WHERE name = 'event_keys_through'").getInt64(); };
    // Every event up to the mark has its key on disk; the mark moved, and keys were merged.
    const auto missing_keys = [&] { return events_missing_keys(store->path()); };
    CHECK(through() > 500);
    CHECK(db.execAndGet("SELECT count(*) FROM event_keys").getInt64() >= through());
    CHECK(missing_keys() == 0);
    // Every one again: repeats, found in memory or on disk.
    CHECK(store_all(*store, 0, 1000) == 0);
    // A retry with the same messageId and other properties is a repeat too; without one, another event.
    {
      Store::Writer writer(*store);
      auto changed = event(1);
      changed.properties = "{\"other\":1}";
      CHECK(writer.insert_event(changed, message_id(1)) == InsertOutcome::unchanged);
      auto plain = event(0);
      plain.properties = "{\"other\":1}";
      CHECK(writer.insert_event(plain) == InsertOutcome::inserted);
      writer.commit();
    }
    CHECK(store->event_count() == 1001);
    // Another connection (the daemon's other thread, or a second process) finds them all,
    // and each finds what the other stored since it last looked.
    auto other = w.store();
    CHECK(store_all(*other, 0, 1000) == 0);
    CHECK(store_all(*other, 1000, 1100) == 100);
    CHECK(store_all(*store, 1000, 1100) == 0);
    CHECK(store_all(*store, 1100, 1200) == 100);
    CHECK(store_all(*other, 1100, 1200) == 0);
    CHECK(missing_keys() == 0);
    // After a restart: the keys not merged yet are read back from the events.
    store.reset();
    other.reset();
    auto reopened = w.store();
    CHECK(store_all(*reopened, 0, 1200) == 0);
    CHECK(reopened->event_count() == 1201);
  }

  TEST_CASE("after a request taken back and then its whole group, events another connection stores under the same ids are found")
  {
    Workspace w;
    auto store = w.store();
    auto other = w.store();
    const auto mine = [](int k) { return EventRow{"c1", "mine", now + k, "{}"}; };
    const auto theirs = [](int k) { return EventRow{"c1", "theirs", now + k, "{}"}; };
    {
      Store::Writer writer(*store);
      writer.ensure_customer("c1", now);
      writer.commit();
    }
    {
      Store::Writer group(*store);
      for (int k = 0; k < 5; ++k) {
        CHECK(group.insert_event(mine(k)) == InsertOutcome::inserted);
      }
      group.savepoint();
      CHECK(group.insert_event(mine(5)) == InsertOutcome::inserted);
      group.rollback_to_savepoint(); // a 409; no event after it
    } // the group is not committed (a later request failed)
    {
      Store::Writer writer(*other); // the ids just given back go to these
      for (int k = 0; k < 5; ++k) {
        CHECK(writer.insert_event(theirs(k)) == InsertOutcome::inserted);
      }
      writer.commit();
    }
    Store::Writer writer(*store);
    for (int k = 0; k < 5; ++k) {
      CHECK(writer.insert_event(theirs(k)) == InsertOutcome::unchanged);
      CHECK(writer.insert_event(mine(k)) == InsertOutcome::inserted);
    }
    writer.commit();
    CHECK(store->event_count() == 10);
  }

  TEST_CASE("a large writer merges its keys whole, and a rollback after that forgets nothing still stored")
  {
    Workspace w;
    auto store = w.store();
    store->hold_recent_event_keys(4); // merged whole within a writer past 16 waiting keys
    const auto event = [](int k) { return EventRow{"c1", "viewed", now + k, "{}"}; };
    {
      Store::Writer writer(*store);
      writer.ensure_customer("c1", now);
      for (int k = 0; k < 40; ++k) {
        CHECK(writer.insert_event(event(k)) == InsertOutcome::inserted);
      }
      writer.commit();
    }
    SQLite::Database db(store->path());
    CHECK(db.execAndGet("SELECT value FROM meta WHERE name = 'event_keys_through'").getInt64() >= 32);
    {
      // Three more, fewer than a merge waits for: their keys stay in memory.
      Store::Writer writer(*store);
      for (int k = 80; k < 83; ++k) {
        CHECK(writer.insert_event(event(k)) == InsertOutcome::inserted);
      }
      writer.commit();
    }
    {
      // Merged whole inside this writer (the three above with its own), then all of it
      // rolled back: the three's keys left memory and the disk again.
      Store::Writer writer(*store);
      for (int k = 40; k < 80; ++k) {
        CHECK(writer.insert_event(event(k)) == InsertOutcome::inserted);
      }
      CHECK(writer.insert_event(event(3)) == InsertOutcome::unchanged);
    }
    {
      // A savepoint taken back after a whole merge inside the same writer.
      Store::Writer writer(*store);
      writer.savepoint();
      for (int k = 40; k < 80; ++k) {
        CHECK(writer.insert_event(event(k)) == InsertOutcome::inserted);
      }
      writer.rollback_to_savepoint();
      CHECK(writer.insert_event(event(79)) == InsertOutcome::inserted);
      CHECK(writer.insert_event(event(39)) == InsertOutcome::unchanged);
      writer.commit();
    }
    Store::Writer writer(*store);
    for (int k = 0; k < 83; ++k) {
      CHECK(writer.insert_event(event(k)) ==
            (k < 40 || k >= 79 ? InsertOutcome::unchanged : InsertOutcome::inserted));
    }
    writer.commit();
    CHECK(store->event_count() == 83);
    CHECK(events_missing_keys(store->path()) == 0);
  }

  TEST_CASE("events stored before version 11 keep being found as repeats after its migration")
  {
    Workspace w;
    const auto event = [](int k) { return EventRow{"c1", "clicked", now + k, "{}"}; };
    {
      auto store = w.store();
      Store::Writer writer(*store);
      writer.ensure_customer("c1", now);
      for (int k = 0; k < 50; ++k) {
        writer.insert_event(event(k), k % 2 ? "id" + std::to_string(k) : "");
      }
      writer.commit();
    }
    {
      // The store as version 10 left it: the digest in events_by_type, no event_keys.
      SQLite::Database db((w.dir / "cvmd.db").string(), SQLite::OPEN_READWRITE);
      db.exec("DROP TABLE event_keys; DROP INDEX events_by_type; CREATE INDEX events_by_type ON events(type, at, digest);"
              "DELETE FROM meta WHERE name = 'event_keys_through'; PRAGMA user_version = 10;");
    }
    auto store = w.store();
    CHECK(store->version() == Store::schema_version);
    SQLite::Database db((w.dir / "cvmd.db").string());
    CHECK(db.execAndGet("SELECT count(*) FROM event_keys").getInt64() == 50);
    CHECK(db.execAndGet("SELECT value FROM meta WHERE name = 'event_keys_through'").getInt64() == 50);
    Store::Writer writer(*store);
    for (int k = 0; k < 50; ++k) {
      CHECK(writer.insert_event(event(k), k % 2 ? "id" + std::to_string(k) : "") == InsertOutcome::unchanged);
    }
    CHECK(writer.insert_event(event(50)) == InsertOutcome::inserted);
    writer.commit();
  }

  TEST_CASE("the filter of stored digests never says no to one it was given, and rarely yes to others")
  {
    DigestFilter filter;
    CHECK_FALSE(filter.may_contain(42));
    const auto digest = [](std::uint64_t k) { return event_digest("c" + std::to_string(k), "t", "{}"); };
    for (std::uint64_t k = 0; k < 300000; ++k) { // several layers
      filter.add(digest(k));
    }
    CHECK(filter.size() == 300000);
    std::size_t missed = 0;
    for (std::uint64_t k = 0; k < 300000; ++k) {
      missed += !filter.may_contain(digest(k));
    }
    CHECK(missed == 0);
    std::size_t false_maybe = 0;
    for (std::uint64_t k = 300000; k < 400000; ++k) {
      false_maybe += filter.may_contain(digest(k));
    }
    CHECK(false_maybe < 500); // under half a percent
    CHECK(filter.bytes() <= 2 * 300000 * 2 + 65536 * 2);
  }

  TEST_CASE("recent event keys are merged in SQLite's order of their digests, a slice at a time")
  {
    RecentEventKeys keys;
    const std::vector<std::int64_t> digests = {5, -3, std::numeric_limits<std::int64_t>::min(), 0,
                                               std::numeric_limits<std::int64_t>::max(), -3, 1LL << 40};
    for (std::size_t k = 0; k < digests.size(); ++k) {
      keys.add(static_cast<std::int64_t>(k + 1), digests[k]);
    }
    CHECK(keys.events_with(-3).size() == 2);
    keys.start_merge();
    CHECK(keys.merge_through() == 7);
    keys.add(8, 7); // after the merge began: waits for the next one
    std::vector<RecentEventKeys::Key> slice;
    std::vector<RecentEventKeys::Key> merged;
    while (!keys.merge_done()) {
      keys.next_slice(3, slice);
      CHECK(slice.size() <= 3);
      merged.insert(merged.end(), slice.begin(), slice.end());
    }
    CHECK(merged == std::vector<RecentEventKeys::Key>{{std::numeric_limits<std::int64_t>::min(), 3},
                                                      {-3, 2},
                                                      {-3, 6},
                                                      {0, 4},
                                                      {5, 1},
                                                      {1LL << 40, 7},
                                                      {std::numeric_limits<std::int64_t>::max(), 5}});
    // Rolled back after the merge's last event: the merge stands; before it: taken again later.
    keys.forget_after(7);
    CHECK(keys.merging());
    CHECK(keys.events_with(7).empty());
    keys.forget_after(6);
    CHECK_FALSE(keys.merging());
    keys.forget_through(5);
    CHECK(keys.size() == 1);
    CHECK(keys.events_with(-3).size() == 2); // forgotten ones leave memory with trim()
    keys.trim(1);
    CHECK(keys.events_with(-3).size() == 2);
    keys.trim(100);
    CHECK(keys.events_with(-3) == std::vector<std::int64_t>{6});
    CHECK(keys.size() == 1);
    keys.start_merge(); // only what was not forgotten
    keys.next_slice(100, slice);
    CHECK(slice == std::vector<RecentEventKeys::Key>{{-3, 6}});
    // Many keys, small slices: the first calls only put keys in their buckets.
    RecentEventKeys many;
    for (std::int64_t k = 1; k <= 1000; ++k) {
      many.add(k, event_digest("c", "t", std::to_string(k)));
    }
    many.start_merge();
    merged.clear();
    int calls = 0;
    while (!many.merge_done()) {
      many.next_slice(2, slice);
      merged.insert(merged.end(), slice.begin(), slice.end());
      ++calls;
    }
    CHECK(merged.size() == 1000);
    CHECK(std::is_sorted(merged.begin(), merged.end()));
    CHECK(calls > 500 + 1000 / 32 - 1);
    // A slice as large as the merge finishes it at once (an import merges whole).
    many.start_merge();
    CHECK_FALSE(many.merge_done());
    many.next_slice(1000, slice);
    CHECK(slice.size() == 1000);
    CHECK(many.merge_done());
  }

  TEST_CASE("an event rolled back is not taken for a repeat, and one before it still is")
  {
    Workspace w;
    auto store = w.store();
    store->hold_recent_event_keys(8); // merges under way across the rollbacks
    const auto event = [](int k) { return EventRow{"c1", "opened", now, "{\"n\":" + std::to_string(k) + "}"}; };
    for (int k = 0; k < 30; ++k) {
      Store::Writer writer(*store);
      writer.ensure_customer("c1", now);
      CHECK(writer.insert_event(event(k)) == InsertOutcome::inserted);
      writer.commit();
    }
    {
      // One request of a group taken back (the event API's savepoint), the group committed.
      Store::Writer writer(*store);
      CHECK(writer.insert_event(event(100)) == InsertOutcome::inserted);
      writer.savepoint();
      CHECK(writer.insert_event(event(101)) == InsertOutcome::inserted);
      writer.rollback_to_savepoint();
      CHECK(writer.insert_event(event(101)) == InsertOutcome::inserted);
      CHECK(writer.insert_event(event(100)) == InsertOutcome::unchanged);
      writer.commit();
    }
    {
      Store::Writer writer(*store);
      CHECK(writer.insert_event(event(102)) == InsertOutcome::inserted);
      CHECK(writer.insert_event(event(0)) == InsertOutcome::unchanged);
    } // not committed
    Store::Writer writer(*store);
    CHECK(writer.insert_event(event(102)) == InsertOutcome::inserted);
    for (int k : {0, 29, 100, 101}) {
      CHECK(writer.insert_event(event(k)) == InsertOutcome::unchanged);
    }
    writer.commit();
    CHECK(store->event_count() == 33);
    SQLite::Database db(store->path());
    CHECK(events_missing_keys(store->path()) == 0);
    CHECK(db.execAndGet("SELECT value FROM meta WHERE name = 'event_keys_through'").getInt64() > 0);
  }
}

TEST_SUITE("import")
{
  TEST_CASE("orders import once; a second import of the same file changes nothing")
  {
    Workspace w;
    auto store = w.store();
    const auto csv = w.file("orders.csv", "order_id,customer_id,ordered_at,amount,currency\n"
                                          "o1,c1,2026-01-05,19.99,EUR\n"
                                          "o2,c1,2026-02-01T10:00:00+01:00,5,EUR\n"
                                          "o3,c2,2026-03-01 08:00:00Z,100.5,\n");
    auto first = import(*store, ImportKind::orders, csv);
    CHECK(first.written);
    CHECK(first.inserted == 3);
    CHECK(store->order_count() == 3);
    CHECK(store->customer_count() == 2); // orders create their customers
    auto second = import(*store, ImportKind::orders, csv);
    CHECK(second.inserted == 0);
    CHECK(second.unchanged == 3);
    CHECK(store->order_count() == 3);
  }

  TEST_CASE("one bad row rejects the whole file and says where and what")
  {
    Workspace w;
    auto store = w.store();
    const auto csv = w.file("orders.csv", "order_id,customer_id,ordered_at,amount\n"
                                          "o1,c1,2026-01-05,19.99\n"
                                          "o2,c1,2026-13-01,5\n"
                                          "o3,c2,2026-03-01,-4\n"
                                          "o4,c2,2099-03-01,4\n"
                                          "o5,c2,2026-03-01,abc\n"
                                          "o6,,2026-03-01,1\n"
                                          "o7,c3,2026-03-01T10:00:00,1\n");
    auto report = import(*store, ImportKind::orders, csv);
    CHECK_FALSE(report.written);
    REQUIRE(report.problems.size() == 6);
    CHECK(report.problems[0] == csv + ":3: ordered_at: '2026-13-01' is not a date (YYYY-MM-DD)");
    CHECK(report.problems[1] == csv + ":4: amount '-4' is negative; refunds are not orders");
    CHECK(report.problems[2] == csv + ":5: ordered_at 2099-03-01T00:00:00Z is in the future");
    CHECK(report.problems[3] == csv + ":6: amount 'abc' is not a number like 19.99");
    CHECK(report.problems[4] == csv + ":7: customer_id is empty");
    CHECK(report.problems[5].rfind(csv + ":8: ordered_at: '2026-03-01T10:00:00' is not an ISO 8601 time", 0) == 0);
    CHECK(store->order_count() == 0);
    CHECK(store->customer_count() == 0);

    auto skipped = import(*store, ImportKind::orders, csv, true);
    CHECK(skipped.written);
    CHECK(skipped.bad == 6);
    CHECK(store->order_count() == 1);
  }

  TEST_CASE("an order id stored with other values is a conflict, not an overwrite")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::orders, w.file("a.csv", "order_id,customer_id,ordered_at,amount\no1,c1,2026-01-05,10\n"));
    auto report = import(*store, ImportKind::orders,
                         w.file("b.csv", "order_id,customer_id,ordered_at,amount\no2,c1,2026-01-06,1\no1,c1,2026-01-05,11\n"));
    CHECK_FALSE(report.written);
    REQUIRE(report.problems.size() == 1);
    CHECK(report.problems[0].find(":3: order_id 'o1' is already stored with other values") != std::string::npos);
    CHECK(store->order_count() == 1);
  }

  TEST_CASE("a first load builds the indexes once and leaves the store as a row-by-row load would")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::customers, w.file("c.csv", "customer_id,email\nc1,a@b.example\n"));
    auto report = import(*store, ImportKind::orders,
                         w.file("o.csv", "order_id,customer_id,ordered_at,amount\n"
                                         "o1,c2,2026-01-05,10\no2,c1,2026-01-06,1\no3,c2,2026-01-07,2\n"));
    CHECK(report.inserted == 3);
    CHECK(store->customer_count() == 2); // c2 created by its orders
    store.reset();
    SQLite::Database db((w.dir / "cvmd.db").string());
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                        "('orders_by_id', 'orders_by_customer')").getInt() == 2);
    CHECK(db.execAndGet("SELECT count(*) FROM pragma_foreign_key_check('orders')").getInt() == 0);
  }

  TEST_CASE("a first load of many orders writes every row once, in statements of many rows")
  {
    Workspace w;
    auto store = w.store();
    std::string csv = "order_id,customer_id,ordered_at,amount,currency\n";
    std::int64_t cents = 0;
    for (int i = 0; i < 9000; ++i) { // two pipeline batches, many 128-row statements, a remainder
      csv += "o" + std::to_string(i) + ",c" + std::to_string(i % 777) + ",2026-03-01T10:00:00Z," + std::to_string(i % 50) +
             "." + std::to_string(10 + i % 90) + ",EUR\n";
      cents += (i % 50) * 100 + 10 + i % 90;
    }
    const auto path = w.file("o.csv", csv);
    import(*store, ImportKind::customers, w.file("c.csv", "customer_id,email\nc300,c300@b.example\n"));
    auto first = import(*store, ImportKind::orders, path);
    CHECK(first.inserted == 9000);
    CHECK(store->order_count() == 9000);
    CHECK(store->customer_count() == 777); // created 128 per statement, a stored one kept as it was
    CHECK(store->customer("c300")->fields.at("email") == "c300@b.example");
    CHECK(store->customer("c776"));
    std::int64_t stored = 0;
    store->for_each_order(now, [&](const Purchase& p) { stored += p.amount_cents; });
    CHECK(stored == cents);
    auto again = import(*store, ImportKind::orders, path);
    CHECK(again.unchanged == 9000);
    CHECK(store->order_count() == 9000);
  }

  TEST_CASE("a first load creates exactly the customers not stored yet, by a walk of the key or by lookups")
  {
    // Few stored customers against many named: the stored key is walked alongside.
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::customers,
           w.file("c.csv", "customer_id,email\nc1,c1@b.example\nc3,c3@b.example\nc5,c5@b.example\nd9,d9@b.example\n"));
    std::string csv = "order_id,customer_id,ordered_at,amount\n";
    for (int i = 0; i < 70; ++i) {
      csv += "o" + std::to_string(i) + ",c" + std::to_string(i % 7) + ",2026-01-05,1\n";
    }
    CHECK(import(*store, ImportKind::orders, w.file("o.csv", csv)).inserted == 70);
    CHECK(store->customer_count() == 8); // c0..c6 and d9
    for (const char* id : {"c1", "c3", "c5", "d9"}) {
      CHECK(store->customer(id)->fields.at("email") == std::string(id) + "@b.example");
    }
    CHECK_FALSE(store->customer("c0")->fields.count("email"));

    // Many stored customers against few named: each is looked up.
    Workspace w2;
    auto many = w2.store();
    std::string customers = "customer_id,email\n";
    for (int i = 0; i < 100; ++i) {
      customers += "k" + std::to_string(i) + ",k" + std::to_string(i) + "@b.example\n";
    }
    import(*many, ImportKind::customers, w2.file("c.csv", customers));
    CHECK(import(*many, ImportKind::orders, w2.file("o.csv", "order_id,customer_id,ordered_at,amount\n"
                                                               "o1,k7,2026-01-05,1\no2,new,2026-01-05,2\n"))
            .inserted == 2);
    CHECK(many->customer_count() == 101);
    CHECK(many->customer("k7")->fields.at("email") == "k7@b.example");
    CHECK(many->customer("new"));
  }

  TEST_CASE("CSV lines across read blocks, quoted newlines, a BOM and CRLF keep their fields and line numbers")
  {
    Workspace w;
    auto store = w.store();
    std::string csv = "\xEF\xBB\xBForder_id,customer_id,ordered_at,amount,category\r\n";
    std::map<std::string, std::string> categories;
    for (int i = 0; i < 3000; ++i) { // about 130 KiB: lines cross the 64 KiB blocks
      std::string category = "cat" + std::to_string(i);
      if (i == 1000) {
        category = std::string(70000, 'x'); // longer than a block
      }
      const bool quoted = i % 500 == 7;
      if (quoted) {
        category = "two\nlines, \"quoted\"";
      }
      std::string field = category;
      if (quoted) {
        field = "\"two\nlines, \"\"quoted\"\"\"";
      }
      csv += "o" + std::to_string(i) + ",c" + std::to_string(i % 13) + ",2026-01-05T10:00:00Z,1.5," + field + "\r\n";
      categories["o" + std::to_string(i)] = category;
    }
    auto report = import(*store, ImportKind::orders, w.file("o.csv", csv));
    CHECK(report.bad == 0);
    CHECK(report.inserted == 3000);
    std::size_t same = 0;
    store->for_each_order_between(0, now, [&](const OrderRow& o) { same += categories.at(o.order_id) == o.category; });
    CHECK(same == 3000);

    // Line numbers count the lines inside quoted fields: 6 rows hold 2 lines each before row 3000.
    Workspace w2;
    auto fresh = w2.store();
    auto bad = import(*fresh, ImportKind::orders, w2.file("bad.csv", csv + "o3000,c1,2026-01-05,ten\r\n"));
    REQUIRE(bad.problems.size() == 1);
    CHECK(bad.problems[0].find("bad.csv:" + std::to_string(1 + 3000 + 6 + 1) + ": ") != std::string::npos);
  }

  TEST_CASE("the same order id twice in a first load: identical rows count once, different ones are refused with their line")
  {
    Workspace w;
    auto store = w.store();
    auto same = import(*store, ImportKind::orders,
                       w.file("a.csv", "order_id,customer_id,ordered_at,amount\no1,c1,2026-01-05,10\no1,c1,2026-01-05,10\n"));
    CHECK(same.written);
    CHECK(same.inserted == 1);
    CHECK(same.unchanged == 1);
    CHECK(store->order_count() == 1);

    Workspace w2;
    auto fresh = w2.store();
    auto different = import(*fresh, ImportKind::orders,
                            w2.file("b.csv", "order_id,customer_id,ordered_at,amount\n"
                                             "o1,c1,2026-01-05,10\no2,c2,2026-01-05,3\no1,c1,2026-01-05,11\n"));
    CHECK_FALSE(different.written);
    REQUIRE(different.problems.size() == 1);
    CHECK(different.problems[0].find("b.csv:4: order_id 'o1' is already stored with other values") != std::string::npos);
    CHECK(fresh->order_count() == 0);
    CHECK(fresh->customer_count() == 0);
  }

  TEST_CASE("a version 1 store keeps its orders through the migration")
  {
    Workspace w;
    {
      SQLite::Database db((w.dir / "cvmd.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      db.exec("CREATE TABLE customers (customer_id TEXT PRIMARY KEY NOT NULL, email TEXT, phone TEXT, "
              "first_name TEXT, last_name TEXT, timezone TEXT, country TEXT, email_consent INTEGER NOT NULL DEFAULT 0, "
              "email_consent_at INTEGER, sms_consent INTEGER NOT NULL DEFAULT 0, sms_consent_at INTEGER, "
              "acquisition_channel TEXT, created_at INTEGER NOT NULL);"
              "CREATE TABLE customer_profile (customer_id TEXT NOT NULL REFERENCES customers(customer_id) ON DELETE CASCADE, "
              "name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (customer_id, name)) WITHOUT ROWID;"
              "CREATE TABLE orders (order_id TEXT PRIMARY KEY NOT NULL, customer_id TEXT NOT NULL REFERENCES customers(customer_id), "
              "ordered_at INTEGER NOT NULL, amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0), "
              "currency TEXT NOT NULL DEFAULT '', category TEXT NOT NULL DEFAULT '');"
              "CREATE INDEX orders_by_customer ON orders(customer_id, ordered_at);"
              "CREATE TABLE events (event_id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(customer_id), "
              "type TEXT NOT NULL, at INTEGER NOT NULL, properties TEXT NOT NULL DEFAULT '', UNIQUE (customer_id, type, at, properties));"
              "INSERT INTO customers (customer_id, created_at) VALUES ('c1', 0);"
              "INSERT INTO orders VALUES ('o1', 'c1', 1767225600, 1999, 'EUR', 'books');"
              "INSERT INTO events (customer_id, type, at, properties) VALUES ('c1', 'visit', 1767225600, '{\"page\":1}');"
              "PRAGMA user_version = 1;");
    }
    auto store = w.store();
    CHECK(store->version() == Store::schema_version);
    CHECK(store->order_count() == 1);
    // v9 rebuilt the events table with the digest in its key: the event is there, and the
    // same event imported again is recognised.
    CHECK(store->event_count() == 1);
    const auto events = w.file("e.jsonl", "{\"customer_id\":\"c1\",\"type\":\"visit\",\"at\":\"2026-01-01\","
                                          "\"properties\":{\"page\":1}}\n");
    CHECK(import(*store, ImportKind::events, events).unchanged == 1);
    CHECK(store->event_count() == 1);
    auto again = import(*store, ImportKind::orders,
                        w.file("o.csv", "order_id,customer_id,ordered_at,amount,currency,category\n"
                                        "o1,c1,2026-01-01,19.99,EUR,books\n"));
    CHECK(again.unchanged == 1); // the unique key on order_id survived the move
    std::int64_t cents = 0;
    store->for_each_order(now, [&](const Purchase& p) { cents += p.amount_cents; });
    CHECK(cents == 1999);
  }

  TEST_CASE("unreadable files fail whole: empty, cut inside a quote, wrong field count, missing column")
  {
    Workspace w;
    auto store = w.store();
    ImportOptions options;
    options.now = now;
    CHECK_FALSE(import_file(*store, ImportKind::orders, w.file("empty.csv", ""), options));
    auto cut = import_file(*store, ImportKind::orders,
                           w.file("cut.csv", "order_id,customer_id,ordered_at,amount\no1,c1,2026-01-05,\"10"), options);
    REQUIRE_FALSE(cut);
    CHECK(cut.error().find("cut.csv:2: the file ends inside a quoted field") != std::string::npos);
    auto fields = import(*store, ImportKind::orders,
                         w.file("fields.csv", "order_id,customer_id,ordered_at,amount\no1,c1,2026-01-05\n"));
    CHECK(fields.problems.at(0).find("fields.csv:2: expected 4 fields (as in the header), found 3") != std::string::npos);
    auto missing = import(*store, ImportKind::orders, w.file("missing.csv", "order_id,customer_id,amount\no1,c1,3\n"));
    CHECK(missing.problems.at(0).find("missing.csv:2: missing column 'ordered_at'") != std::string::npos);
    CHECK(store->order_count() == 0);
  }

  TEST_CASE("customers upsert with consents and profile fields; duplicates in one file are errors")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::customers,
           w.file("c.csv", "customer_id,email,first_name,country,email_consent,shoe_size\n"
                           "c1,ann@example.com,Ann,de,yes,38\n"));
    auto c1 = store->customer("c1");
    REQUIRE(c1);
    CHECK(c1->fields.at("email") == "ann@example.com");
    CHECK(c1->fields.at("country") == "DE");
    CHECK(c1->email_consent);
    CHECK_FALSE(c1->sms_consent);
    CHECK(c1->profile.at("shoe_size") == "38");

    import(*store, ImportKind::customers, w.file("c2.csv", "customer_id,first_name,email_consent\nc1,Anna,no\n"));
    c1 = store->customer("c1");
    CHECK(c1->fields.at("first_name") == "Anna");
    CHECK(c1->fields.at("email") == "ann@example.com"); // absent columns keep their values
    CHECK_FALSE(c1->email_consent);
    {
      SQLite::Database db((w.dir / "cvmd.db").string());
      CHECK(db.execAndGet("SELECT email_consent_at FROM customers WHERE customer_id = 'c1'").getInt64() == now);
      CHECK(db.execAndGet("SELECT sms_consent_at IS NULL FROM customers WHERE customer_id = 'c1'").getInt() == 1);
    }
    ImportOptions later;
    later.now = now + 3600;
    REQUIRE(import_file(*store, ImportKind::customers, w.file("c2b.csv", "customer_id,email_consent\nc1,no\n"), later));
    {
      SQLite::Database db((w.dir / "cvmd.db").string());
      CHECK(db.execAndGet("SELECT email_consent_at FROM customers WHERE customer_id = 'c1'").getInt64() == now);
    }
    REQUIRE(import_file(*store, ImportKind::customers, w.file("c2c.csv", "customer_id,email_consent\nc1,1\n"), later));
    {
      SQLite::Database db((w.dir / "cvmd.db").string());
      CHECK(db.execAndGet("SELECT email_consent_at FROM customers WHERE customer_id = 'c1'").getInt64() == now + 3600);
    }

    auto twice = import(*store, ImportKind::customers, w.file("c3.csv", "customer_id,email\nc2,x@y.z\nc2,q@y.z\n"));
    CHECK_FALSE(twice.written);
    CHECK(twice.problems.at(0).find(":3: customer_id 'c2' appears twice in this file") != std::string::npos);
    auto bad = import(*store, ImportKind::customers, w.file("c4.csv", "customer_id,email,sms_consent\nc3,nope,maybe\n"));
    CHECK(bad.problems.at(0).find(":2: email 'nope' is not an email address") != std::string::npos);
    auto zone = import(*store, ImportKind::customers,
                       w.file("c5.csv", "customer_id,timezone\nc6,Europe/Berlin\nc7,Mars/Olympus\nc8,\n"));
    CHECK_FALSE(zone.written);
    REQUIRE(zone.problems.size() == 1);
    CHECK(zone.problems.at(0).find(":3: timezone 'Mars/Olympus' is not an IANA time zone") != std::string::npos);
  }

  TEST_CASE("events come as JSON Lines with properties")
  {
    Workspace w;
    auto store = w.store();
    const auto jsonl = w.file("e.jsonl", "{\"customer_id\":\"c1\",\"type\":\"cart_abandoned\",\"at\":\"2026-05-01T10:00:00Z\","
                                         "\"properties\":{\"value\":42}}\n"
                                         "\n"
                                         "{\"customer_id\":\"c1\",\"type\":\"product_viewed\",\"at\":\"2026-05-02\"}\n");
    auto report = import(*store, ImportKind::events, jsonl);
    CHECK(report.inserted == 2);
    CHECK(store->event_count() == 2);
    CHECK(import(*store, ImportKind::events, jsonl).unchanged == 2);
    // Only the properties differ: another event. The same again: none.
    auto other = import(*store, ImportKind::events,
                        w.file("o.jsonl", "{\"customer_id\":\"c1\",\"type\":\"cart_abandoned\",\"at\":\"2026-05-01T10:00:00Z\","
                                          "\"properties\":{\"value\":43}}\n"
                                          "{\"customer_id\":\"c1\",\"type\":\"cart_abandoned\",\"at\":\"2026-05-01T10:00:00Z\","
                                          "\"properties\":{\"value\":43}}\n"));
    CHECK(other.inserted == 1);
    CHECK(other.unchanged == 1);
    CHECK(store->event_count() == 3);
    // Two events whose digests collide both stay: a repeat is compared whole. (The stored
    // product_viewed is given the digest of the one imported next.)
    {
      SQLite::Database db(store->path(), SQLite::OPEN_READWRITE);
      SQLite::Statement collide(db, "UPDATE events SET digest = ? WHERE type = 'product_viewed'");
      collide.bind(1, static_cast<int64_t>(event_digest("c1", "product_viewed", "{\"x\":1}")));
      CHECK(collide.exec() == 1);
    }
    store.reset(); // what a connection holds in memory is read again from the store
    store = w.store();
    const auto colliding = w.file("x.jsonl", "{\"customer_id\":\"c1\",\"type\":\"product_viewed\",\"at\":\"2026-05-02\","
                                             "\"properties\":{\"x\":1}}\n");
    CHECK(import(*store, ImportKind::events, colliding).inserted == 1);
    CHECK(import(*store, ImportKind::events, colliding).unchanged == 1);
    CHECK(store->event_count() == 4);
    // A cycle asks for the types its scenarios use: the rows of those types only, in time order.
    std::vector<std::string> read;
    const std::set<std::string> types{"product_viewed", "never_stored"};
    store->for_each_event(
      std::numeric_limits<std::int64_t>::min(), now, [&](const EventRow& e) { read.push_back(e.type); }, {}, &types);
    CHECK(read == std::vector<std::string>{"product_viewed", "product_viewed"});
    const std::set<std::string> none;
    store->for_each_event(
      std::numeric_limits<std::int64_t>::min(), now, [&](const EventRow& e) { read.push_back(e.type); }, {}, &none);
    CHECK(read.size() == 2);
    auto bad = import(*store, ImportKind::events, w.file("bad.jsonl", "{\"customer_id\":\"c1\",\"type\":\"x\",\"at\":\"2026-05-02\"\n[1]\n"));
    CHECK_FALSE(bad.written);
    REQUIRE(bad.problems.size() == 2);
    CHECK(bad.problems[0].find("bad.jsonl:1: not valid JSON") != std::string::npos);
    CHECK(bad.problems[1].find("bad.jsonl:2: each line must be a JSON object") != std::string::npos);
  }
}

TEST_SUITE("metrics")
{
  TEST_CASE("metrics, lifecycle, RFM with ties, VIP and value tiers as of a date")
  {
    Workspace w;
    auto store = w.store();
    // c1: 3 orders, recent; c2: 1 order 100 days ago; c3: 1 order 10 days ago (new);
    // c4: 2 orders, last 200 days ago; c5: a prospect.
    import(*store, ImportKind::customers, w.file("c.csv", "customer_id\nc5\n"));
    import(*store, ImportKind::orders,
           w.file("o.csv", "order_id,customer_id,ordered_at,amount\n"
                           "a,c1,2026-01-01,100\nb,c1,2026-06-01,50\nc,c1,2026-11-21,30\n"
                           "d,c2,2026-08-23,20\n"
                           "e,c3,2026-11-21,10\n"
                           "f,c4,2026-04-01,5\ng,c4,2026-05-15,5\n"));
    const auto at = *parse_time("2026-12-01T00:00:00Z");
    MetricsConfig config;
    config.vip_top_percent = 20;
    const auto s = CustomerState::build(*store, at, config);
    REQUIRE(s.size() == 5);
    const auto i = [&](const char* id) { return *s.index_of(id); };
    CHECK(s.number(attr("orders"), i("c1")) == 3);
    CHECK(s.number(attr("revenue"), i("c1")) == doctest::Approx(180));
    CHECK(s.number(attr("aov"), i("c1")) == doctest::Approx(60));
    CHECK(s.number(attr("days_since_last_order"), i("c1")) == 10);
    CHECK(s.number(attr("days_since_first_order"), i("c1")) == 334);
    CHECK(s.number(attr("avg_days_between_orders"), i("c1")) == doctest::Approx(162));
    CHECK(std::isnan(s.number(attr("avg_days_between_orders"), i("c2"))));
    CHECK(std::isnan(s.number(attr("aov"), i("c5"))));

    CHECK(s.text(attr("lifecycle"), i("c1")) == "active");
    CHECK(s.text(attr("lifecycle"), i("c2")) == "lapsing");
    CHECK(s.text(attr("lifecycle"), i("c3")) == "new");
    CHECK(s.text(attr("lifecycle"), i("c4")) == "inactive");
    CHECK(s.text(attr("lifecycle"), i("c5")) == "prospect");

    // Frequencies 3,1,1,2 over four buyers: the two 1s tie at the lowest score.
    CHECK(s.number(attr("f_score"), i("c2")) == 1);
    CHECK(s.number(attr("f_score"), i("c3")) == 1);
    CHECK(s.number(attr("f_score"), i("c4")) == 3);
    CHECK(s.number(attr("f_score"), i("c1")) == 4);
    // Recency: c1 and c3 both 10 days ago tie at the top.
    CHECK(s.number(attr("r_score"), i("c1")) == s.number(attr("r_score"), i("c3")));
    CHECK(s.number(attr("r_score"), i("c4")) == 1);
    CHECK(s.text(attr("rfm"), i("c4")) == "131");
    CHECK(s.text(attr("rfm_segment"), i("c4")) == "at_risk");
    CHECK(s.text(attr("rfm_segment"), i("c5")).empty());

    CHECK(s.flag(attr("vip"), i("c1")));
    CHECK_FALSE(s.flag(attr("vip"), i("c2")));
    CHECK(s.text(attr("value_tier"), i("c1")) == "high");   // 180 of 220 = the first 50%
    CHECK(s.text(attr("value_tier"), i("c2")) == "low");    // after 82%
    CHECK(s.text(attr("value_tier"), i("c5")) == "low");

    // The day before c3's first order it was not a customer yet; c5, without orders, is.
    const auto earlier = CustomerState::build(*store, *parse_time("2026-11-20T00:00:00Z"), config);
    CHECK_FALSE(earlier.index_of("c3").has_value());
    CHECK(earlier.size() == 4);
    CHECK(earlier.text(attr("lifecycle"), *earlier.index_of("c5")) == "prospect");
  }

  TEST_CASE("a snapshot before some customers' first order drops them and keeps everyone else whole")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::customers,
           w.file("c.csv", "customer_id,email,first_name\nc1,ann@x.example,Ann\nc2,bob@x.example,Bob\n"
                           "c3,cid@x.example,Cid\n"));
    import(*store, ImportKind::orders,
           w.file("o.csv", "order_id,customer_id,ordered_at,amount\n"
                           "a,c1,2026-01-01,10\nb,c2,2026-03-01,20\nc,c3,2026-01-05,30\n"));
    // c2 first buys after the moment: not a customer yet. The others keep their ids and
    // fields (they used to come out empty when the rows were compacted in place).
    const auto s = CustomerState::build(*store, *parse_time("2026-02-01T00:00:00Z"), MetricsConfig{});
    REQUIRE(s.size() == 2);
    CHECK(s.id(0) == "c1");
    CHECK(s.id(1) == "c3");
    REQUIRE(s.index_of("c3"));
    CHECK(s.text(attr("email"), *s.index_of("c3")) == "cid@x.example");
    CHECK(s.text(attr("first_name"), *s.index_of("c1")) == "Ann");
    CHECK(!s.index_of("c2"));
  }

  TEST_CASE("compiled scenario conditions evaluate on the snapshot")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::customers, w.file("c.csv", "customer_id,country,tier\nc1,DE,gold\nc2,FR,\n"));
    import(*store, ImportKind::orders,
           w.file("o.csv", "order_id,customer_id,ordered_at,amount\na,c1,2026-01-01,100\nb,c2,2026-11-25,10\n"));
    dsl::TemplateCatalog templates;
    dsl::Diagnostics ignored;
    templates.load("reminder.yaml", "channel: email\nsubject: Hi\ntext: x\n", ignored);
    const auto loaded = dsl::load_sources(
      {{"s.cvm", "segment target = inactive and aov > 50 and country = \"DE\" and profile.tier = \"gold\"\n"
                 "rule r: if target then send reminder\n"}},
      templates);
    REQUIRE(loaded.program);
    const auto s = CustomerState::build(*store, *parse_time("2026-12-01T00:00:00Z"), MetricsConfig{});
    CustomerFacts facts(s, *loaded.program, *s.index_of("c1"));
    CHECK(dsl::evaluate(loaded.program->segments.at(0), *loaded.program, facts));
    facts.move_to(*s.index_of("c2"));
    CHECK_FALSE(dsl::evaluate(loaded.program->segments.at(0), *loaded.program, facts));
  }
}

#include "engine/audience.hpp"

TEST_SUITE("metrics")
{
  TEST_CASE("orders read by two connections at once give the same snapshot as one")
  {
    Workspace w;
    auto store = w.store();
    std::string orders = "order_id,customer_id,ordered_at,amount\n";
    for (int i = 0; i < 41; ++i) { // c40 only buys after the snapshot's moment
      for (int k = 0; k <= i % 3; ++k) {
        orders += "o" + std::to_string(i) + "_" + std::to_string(k) + ",c" + std::to_string(i) + "," +
                  (i == 40 ? "2026-10-01" : "2026-0" + std::to_string(1 + (i + k) % 8) + "-0" + std::to_string(1 + k)) +
                  "," + std::to_string(5 + i + k) + "\n";
      }
    }
    import(*store, ImportKind::orders, w.file("o.csv", orders));
    MetricsConfig one, two;
    one.predict_clv = two.predict_clv = false;
    one.two_readers_from = 1000000;
    two.two_readers_from = 1;
    const auto at = *parse_time("2026-09-01T00:00:00Z");
    const auto a = CustomerState::build(*store, at, one);
    const auto b = CustomerState::build(*store, at, two);
    REQUIRE(a.size() == 40);
    REQUIRE(b.size() == a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a.id(i) == b.id(i));
      for (const char* name : {"orders", "revenue", "days_since_last_order", "r_score", "m_score"}) {
        CHECK(a.number(attr(name), i) == b.number(attr(name), i));
      }
      CHECK(a.text(attr("rfm_segment"), i) == b.text(attr("rfm_segment"), i));
    }
  }

  TEST_CASE("a condition over all customers at once gives what each customer's evaluation gives")
  {
    Workspace w;
    auto store = w.store();
    std::string customers = "customer_id,country,email_consent,tier\n";
    std::string orders = "order_id,customer_id,ordered_at,amount\n";
    const char* countries[] = {"DE", "FR", "", "AT"};
    for (int i = 0; i < 60; ++i) {
      customers += "c" + std::to_string(i) + "," + countries[i % 4] + "," + (i % 3 ? "yes" : "no") + "," +
                   (i % 5 ? "gold" : "") + "\n";
      for (int k = 0; k < i % 4; ++k) { // a quarter of them are prospects
        orders += "o" + std::to_string(i) + "_" + std::to_string(k) + ",c" + std::to_string(i) + ",2026-0" +
                  std::to_string(1 + (i * 7 + k * 3) % 9) + "-1" + std::to_string(k) + "," +
                  std::to_string(10 + (i * 13 + k * 29) % 90) + "\n";
      }
    }
    import(*store, ImportKind::customers, w.file("c.csv", customers));
    import(*store, ImportKind::orders, w.file("o.csv", orders));
    const auto state = CustomerState::build(*store, *parse_time("2026-11-01T00:00:00Z"), MetricsConfig{});
    const char* conditions[] = {
      "lapsing and aov > 50",
      "not (country = \"DE\") and orders >= 1",
      "country != \"FR\"",
      "country != \"XX\"",
      "country in (\"DE\", \"AT\", \"ZZ\")",
      "rfm_segment in (\"champions\", \"loyal\") or vip",
      "lifecycle != \"inactive\"",
      "aov between 20 and 60 or days_since_last_order <= 200",
      "aov != 40",
      "orders in (1, 3)",
      "revenue > aov",
      "profile.tier = \"gold\" and email_consent",
      "ordered within 30 days or value_tier = \"high\"",
      "big and not inactive",
    };
    for (const char* condition : conditions) {
      CAPTURE(condition);
      const auto loaded = dsl::load_sources(
        {{"s.cvm", std::string("segment big = revenue >= 100\nsegment audience = ") + condition + "\n"}},
        dsl::TemplateCatalog{});
      REQUIRE(loaded.program);
      const auto& program = *loaded.program;
      const auto& c = program.segments.back();
      const auto mask = audience(c, program, state);
      REQUIRE(mask.size() == state.size());
      CustomerFacts facts(state, program, 0);
      std::size_t matches = 0;
      for (std::size_t i = 0; i < state.size(); ++i) {
        facts.move_to(i);
        CAPTURE(state.id(i));
        CHECK(static_cast<bool>(mask[i]) == dsl::evaluate(c, program, facts));
        matches += mask[i];
      }
      CHECK(matches > 0); // each condition selects someone here, and all but one not everyone
      CHECK((matches < state.size() || std::string(condition) == "country != \"XX\""));
    }
  }
}

#include "engine/aggregates.hpp"

TEST_SUITE("metrics")
{
  TEST_CASE("shop-wide aggregates, monthly retention and cohorts")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::customers, w.file("c.csv", "customer_id\nc4\n"));
    // Jan: c1 c2; Feb: c1 c3; Mar: c1 c2.
    import(*store, ImportKind::orders,
           w.file("o.csv", "order_id,customer_id,ordered_at,amount\n"
                           "1,c1,2026-01-05,10\n2,c2,2026-01-20,30\n"
                           "3,c1,2026-02-03,10\n4,c3,2026-02-10,50\n"
                           "5,c1,2026-03-01,10\n6,c2,2026-03-30,90\n"));
    MetricsConfig config;
    config.predict_clv = false;
    const auto state = CustomerState::build(*store, *parse_time("2026-03-31T23:59:59Z"), config);
    const auto a = compute_aggregates(*store, state);
    CHECK(a.customers == 4);
    CHECK(a.buyers == 3);
    CHECK(a.orders == 6);
    CHECK(a.revenue == doctest::Approx(200));
    CHECK(a.aov == doctest::Approx(200.0 / 6));
    CHECK(a.purchase_frequency == doctest::Approx(2));
    CHECK(a.repeat_rate == doctest::Approx(2.0 / 3));
    CHECK(a.top20_revenue_share == doctest::Approx(120.0 / 200)); // the best one of three: c2
    CHECK(a.historical_ltv == doctest::Approx(200.0 / 3));
    CHECK(std::isnan(a.predicted_ltv));
    REQUIRE(a.months.size() == 3);
    CHECK(a.months[0].month == "2026-01");
    CHECK(std::isnan(a.months[0].retention));
    CHECK(a.months[1].retained == 1); // c1
    CHECK(a.months[1].retention == doctest::Approx(0.5));
    CHECK(a.months[2].retained == 1); // c1 again; c2 came back after a gap
    CHECK(a.months[2].revenue == doctest::Approx(100));
    REQUIRE(a.cohorts.size() == 2);
    CHECK(a.cohorts[0].month == "2026-01");
    CHECK(a.cohorts[0].size == 2);
    CHECK(a.cohorts[0].retention == std::vector<double>{1.0, 0.5, 1.0});
    CHECK(a.cohorts[1].retention == std::vector<double>{1.0, 0.0});
  }
}

TEST_SUITE("import")
{
  TEST_CASE("the fast path for canonical times agrees with the general parser")
  {
    CHECK(*parse_time("2026-03-01T14:30:05Z") == *parse_time("2026-03-01T14:30:05+00:00"));
    CHECK(*parse_time("2026-03-01 14:30:05Z") == *parse_time("2026-03-01T15:30:05+01:00"));
    CHECK(*parse_time("2024-02-29T00:00:00Z") == *parse_time("2024-02-29"));
    CHECK_FALSE(parse_time("2026-02-30T00:00:00Z"));
    CHECK_FALSE(parse_time("2026-03-01T24:00:00Z"));
    CHECK_FALSE(parse_time("2026-03-01T1x:00:00Z"));
    CHECK(format_time(*parse_time("2026-03-01T14:30:05Z")) == "2026-03-01T14:30:05Z");
  }
}

TEST_SUITE("import")
{
  TEST_CASE("JSON Lines: each line needs its own fields, ids are texts or numbers, numbers keep their form")
  {
    Workspace w;
    auto store = w.store();
    auto report = import(*store, ImportKind::orders,
                         w.file("o.jsonl", "{\"order_id\":\"1\",\"customer_id\":\"c1\",\"ordered_at\":\"2020-01-01T00:00:00Z\",\"amount\":19.99}\n"
                                           "{\"customer_id\":\"c2\",\"ordered_at\":\"2020-01-01T00:00:00Z\",\"amount\":5}\n"
                                           "{\"order_id\":[1],\"customer_id\":\"c2\",\"ordered_at\":\"2020-01-01\",\"amount\":5}\n"
                                           "{\"order_id\":7,\"customer_id\":8,\"ordered_at\":\"0000-01-01\",\"amount\":5}\n"));
    CHECK_FALSE(report.written);
    REQUIRE(report.problems.size() == 3);
    CHECK(report.problems[0].find("o.jsonl:2: missing column 'order_id'") != std::string::npos);
    CHECK(report.problems[1].find("o.jsonl:3: order_id must be a text or a number") != std::string::npos);
    CHECK(report.problems[2].find("o.jsonl:4: ordered_at: '0000-01-01' is before 1900") != std::string::npos);
    auto good = import(*store, ImportKind::orders,
                       w.file("g.jsonl", "{\"order_id\":7,\"customer_id\":8,\"ordered_at\":\"2020-01-01T00:00:00+02:00\",\"amount\":19.99}\n"));
    CHECK(good.written);
    const auto s = CustomerState::build(*store, now, MetricsConfig{});
    CHECK(s.number(attr("revenue"), *s.index_of("8")) == doctest::Approx(19.99));
  }

  TEST_CASE("with --skip-bad a conflicting order leaves no customer behind")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::orders, w.file("a.csv", "order_id,customer_id,ordered_at,amount\n1,a,2020-01-01,5\n"));
    auto report = import(*store, ImportKind::orders, w.file("b.csv", "order_id,customer_id,ordered_at,amount\n1,zzz,2020-01-01,5\n"), true);
    CHECK(report.bad == 1);
    CHECK_FALSE(store->customer("zzz").has_value());
  }

  TEST_CASE("impossible offsets and duplicate columns are refused")
  {
    CHECK_FALSE(parse_time("2020-01-01T00:00:00+25:00"));
    CHECK(parse_time("2020-01-01T00:00:00-09:30"));
    Workspace w;
    auto store = w.store();
    ImportOptions options;
    options.now = now;
    auto twice = import_file(*store, ImportKind::orders, w.file("d.csv", "order_id,customer_id,ordered_at,amount,amount\n1,a,2020-01-01,5,6\n"), options);
    REQUIRE_FALSE(twice);
    CHECK(twice.error().find("d.csv:1: the column 'amount' appears twice") != std::string::npos);
  }
}

TEST_SUITE("metrics")
{
  TEST_CASE("revenue is summed exactly, so equal spend gets equal scores and tiers")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::orders, w.file("o.csv", "order_id,customer_id,ordered_at,amount\n"
                                                       "1,a,2020-01-01,0.10\n2,a,2020-01-02,0.20\n3,b,2020-01-01,0.30\n"));
    MetricsConfig config;
    config.predict_clv = false;
    const auto s = CustomerState::build(*store, now, config);
    CHECK(s.number(attr("revenue"), *s.index_of("a")) == s.number(attr("revenue"), *s.index_of("b")));
    CHECK(s.number(attr("m_score"), *s.index_of("a")) == s.number(attr("m_score"), *s.index_of("b")));
    CHECK(s.text(attr("value_tier"), *s.index_of("a")) == s.text(attr("value_tier"), *s.index_of("b")));
  }
}

TEST_SUITE("metrics")
{
  TEST_CASE("an order added to the snapshot gives what a rebuild from the store gives")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::customers, w.file("c.csv", "customer_id,country\nc9,DE\n"));
    import(*store, ImportKind::orders,
           w.file("o.csv", "order_id,customer_id,ordered_at,amount\n"
                           "a,c1,2026-01-01,100\nb,c1,2026-06-01,50\nd,c2,2026-08-23,20\ne,c3,2026-11-21,10\n"));
    MetricsConfig config;
    config.predict_clv = false;
    const auto at = *parse_time("2026-12-01T00:00:00Z");
    auto live = CustomerState::build(*store, at, config);
    const std::vector<OrderRow> more = {{"f", "c2", *parse_time("2026-11-30T10:00:00Z"), 4500, "", ""},
                                        {"g", "c9", *parse_time("2026-11-29T10:00:00Z"), 1000, "", ""},
                                        {"h", "c4", *parse_time("2026-11-30T12:00:00Z"), 700, "", ""}};
    {
      Store::Writer writer(*store);
      for (const auto& o : more) {
        writer.ensure_customer(o.customer_id, at);
        writer.insert_order(o);
      }
      writer.commit();
    }
    for (const auto& o : more) {
      live.add_order(o);
    }
    // Per-customer metrics follow at once; rankings after a refresh.
    CHECK(live.text(attr("lifecycle"), *live.index_of("c2")) == "active");
    CHECK(live.text(attr("lifecycle"), *live.index_of("c9")) == "new");
    live.refresh_rankings();
    const auto rebuilt = CustomerState::build(*store, at, config);
    REQUIRE(live.size() == rebuilt.size());
    for (std::size_t i = 0; i < rebuilt.size(); ++i) {
      const auto j = *live.index_of(rebuilt.id(i));
      INFO(rebuilt.id(i));
      for (std::size_t a = 0; a < dsl::attributes().size(); ++a) {
        const auto id = static_cast<dsl::AttrId>(a);
        const double x = rebuilt.number(id, i), y = live.number(id, j);
        CHECK(((std::isnan(x) && std::isnan(y)) || x == doctest::Approx(y)));
        CHECK(rebuilt.text(id, i) == live.text(id, j));
        CHECK(rebuilt.flag(id, i) == live.flag(id, j));
      }
    }
  }
}

#include "engine/config.hpp"

TEST_SUITE("metrics")
{
  TEST_CASE("CAC and LTV/CAC per channel and month from the configured spend")
  {
    Workspace w;
    auto store = w.store();
    import(*store, ImportKind::customers,
           w.file("c.csv", "customer_id,acquisition_channel\na,search\nb,search\nc,social\n"));
    import(*store, ImportKind::orders,
           w.file("o.csv", "order_id,customer_id,ordered_at,amount\n1,a,2026-01-05,100\n2,a,2026-02-05,50\n"
                           "3,b,2026-01-20,30\n4,c,2026-01-07,10\n"));
    MetricsConfig config;
    config.predict_clv = false;
    const auto state = CustomerState::build(*store, *parse_time("2026-03-01T00:00:00Z"), config);
    const auto a = compute_aggregates(*store, state,
                                      {{"search", "2026-01", 90}, {"social", "2026-01", 0}, {"search", "2026-02", 40}});
    REQUIRE(a.acquisition.size() == 3);
    CHECK(a.acquisition[0].new_customers == 2);
    CHECK(a.acquisition[0].cac == doctest::Approx(45));
    CHECK(a.acquisition[0].ltv == doctest::Approx(90));     // (150 + 30) / 2
    CHECK(a.acquisition[0].ltv_to_cac == doctest::Approx(2));
    CHECK(a.acquisition[1].new_customers == 1);
    CHECK(std::isnan(a.acquisition[1].ltv_to_cac));          // free customers: no ratio
    CHECK(a.acquisition[2].new_customers == 0);
    CHECK(std::isnan(a.acquisition[2].cac));
  }

  TEST_CASE("acquisition spend in the configuration is checked with its place")
  {
    Workspace w;
    const auto good = w.file("good.yaml", "acquisition_spend:\n  - {channel: search, month: 2026-01, amount: 1200.5}\n");
    auto config = load_config(good);
    REQUIRE(config);
    REQUIRE(config->acquisition_spend.size() == 1);
    CHECK(config->acquisition_spend[0].amount == doctest::Approx(1200.5));
    const auto bad = w.file("bad.yaml", "acquisition_spend:\n  - {channel: search, month: 2026-13, amount: 5}\n");
    auto refused = load_config(bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().find("bad.yaml:2:") != std::string::npos);
    CHECK(refused.error().find("'month' must be a month, YYYY-MM") != std::string::npos);
    const auto negative = w.file("neg.yaml", "acquisition_spend:\n  - {channel: search, month: 2026-01, amount: -5}\n");
    auto refused2 = load_config(negative);
    REQUIRE_FALSE(refused2);
    CHECK(refused2.error().find("'amount' must be a number, 0 or more") != std::string::npos);
  }
}
