// Audience evaluation: how fast compiled scenario conditions count their audience on the
// columnar snapshot, against SQLite answering the same predicates with SELECT count(*)
// over a table of the same per-customer values, in the same run.
//
// Usage: bench_audience STORE [AT] [RUNS]
#include "dsl/dsl.hpp"
#include "engine/audience.hpp"
#include "engine/customer_state.hpp"
#include "engine/values.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace cvmd;

namespace {

struct Predicate
{
  const char* condition; // the scenario language
  const char* sql;       // the same over customer_metrics
};

const Predicate predicates[] = {
  {"lapsing and aov > 50", "lifecycle = 'lapsing' AND aov > 50"},
  {"orders >= 2 and revenue > 100 and days_since_last_order <= 90",
   "orders >= 2 AND revenue > 100 AND days_since_last_order <= 90"},
  {"rfm_segment in (\"champions\", \"loyal\") or vip", "rfm_segment IN ('champions', 'loyal') OR vip = 1"},
  {"inactive and orders >= 2 and email_consent", "lifecycle = 'inactive' AND orders >= 2 AND email_consent = 1"},
  {"(new or active) and not (country = \"DE\") and aov between 20 and 80",
   "lifecycle IN ('new', 'active') AND NOT (country = 'DE') AND aov BETWEEN 20 AND 80"},
};

double
seconds_since(std::chrono::steady_clock::time_point start)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int
main(int argc, char** argv)
{
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_audience STORE [AT] [RUNS]\n");
    return 2;
  }
  const auto at = *parse_time(argc > 2 ? argv[2] : "2026-01-01") + 86399;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  auto store = Store::open(argv[1]);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().c_str());
    return 2;
  }
  MetricsConfig config;
  config.predict_clv = false;
  auto started = std::chrono::steady_clock::now();
  const auto state = CustomerState::build(**store, at, config);
  std::printf("snapshot of %zu customers built in %.2f s\n", state.size(), seconds_since(started));

  // The peer's table: the same values, one row per customer, in an in-memory database.
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE customer_metrics (orders REAL, revenue REAL, aov REAL, days_since_last_order REAL, "
          "lifecycle TEXT, rfm_segment TEXT, vip INTEGER, email_consent INTEGER, country TEXT)");
  const auto id = [](const char* name) { return static_cast<dsl::AttrId>(*dsl::find_attribute(name)); };
  {
    SQLite::Transaction t(db);
    SQLite::Statement insert(db, "INSERT INTO customer_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (std::size_t i = 0; i < state.size(); ++i) {
      int k = 1;
      for (const char* name : {"orders", "revenue", "aov", "days_since_last_order"}) {
        const double v = state.number(id(name), i);
        std::isnan(v) ? insert.bind(k++) : insert.bind(k++, v);
      }
      for (const char* name : {"lifecycle", "rfm_segment"}) {
        insert.bind(k++, std::string(state.text(id(name), i)));
      }
      insert.bind(k++, state.flag(id("vip"), i) ? 1 : 0);
      insert.bind(k++, state.flag(id("email_consent"), i) ? 1 : 0);
      insert.bind(k++, std::string(state.text(id("country"), i)));
      insert.exec();
      insert.reset();
    }
    t.commit();
  }

  std::printf("%-72s %9s %9s %9s %9s %7s\n", "predicate", "matches", "tree ms", "cols ms", "sqlite ms", "ratio");
  for (const auto& p : predicates) {
    const std::string source = std::string("segment audience = ") + p.condition + "\n";
    const auto loaded = dsl::load_sources({{"bench.cvm", source}}, dsl::TemplateCatalog{});
    if (!loaded.program) {
      std::fprintf(stderr, "does not compile: %s\n", p.condition);
      return 1;
    }
    const auto& program = *loaded.program;
    const auto& condition = program.segments.front();
    std::vector<double> tree, ours, theirs;
    std::size_t count = 0;
    std::size_t tree_count = 0;
    std::int64_t sql_count = 0;
    for (int r = 0; r < runs; ++r) {
      started = std::chrono::steady_clock::now();
      CustomerFacts facts(state, program, 0);
      tree_count = 0;
      for (std::size_t i = 0; i < state.size(); ++i) {
        facts.move_to(i);
        tree_count += dsl::evaluate(condition, program, facts) ? 1 : 0;
      }
      tree.push_back(seconds_since(started));
      started = std::chrono::steady_clock::now();
      const auto mask = audience(condition, program, state);
      count = static_cast<std::size_t>(std::count(mask.begin(), mask.end(), 1));
      ours.push_back(seconds_since(started));
      started = std::chrono::steady_clock::now();
      sql_count = db.execAndGet(std::string("SELECT count(*) FROM customer_metrics WHERE ") + p.sql).getInt64();
      theirs.push_back(seconds_since(started));
    }
    std::sort(tree.begin(), tree.end());
    std::sort(ours.begin(), ours.end());
    std::sort(theirs.begin(), theirs.end());
    const double a = ours[ours.size() / 2], b = theirs[theirs.size() / 2];
    std::printf("%-72s %9zu %9.1f %9.1f %9.1f %6.1fx%s\n", p.condition, count, tree[tree.size() / 2] * 1000, a * 1000,
                b * 1000, b / a,
                static_cast<std::int64_t>(count) == sql_count && count == tree_count ? "" : "  (COUNTS DIFFER)");
  }
  return 0;
}
