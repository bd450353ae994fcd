#include "engine/importer.hpp"

#include "dsl/source.hpp"
#include "engine/order_pipeline.hpp"
#include "engine/policies.hpp"
#include "engine/records.hpp"
#include "engine/row_checks.hpp"
#include "engine/values.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <unordered_set>

namespace cvmd {

namespace {

const std::vector<std::string>&
required_columns(ImportKind kind)
{
  static const std::vector<std::string> customers = {"customer_id"};
  static const std::vector<std::string> orders = {"order_id", "customer_id", "ordered_at", "amount"};
  static const std::vector<std::string> events = {"customer_id", "type", "at"};
  return kind == ImportKind::customers ? customers : kind == ImportKind::orders ? orders : events;
}

class Importer
{
public:
  // bulk: a first load of orders may take the store's bulk path (see Store::Writer); with
  // --skip-bad every row needs its own verdict, so that takes the row-by-row path.
  Importer(Store& store, ImportKind kind, const std::string& path, const ImportOptions& options, bool bulk)
    : m_kind(kind), m_path(path), m_options(options),
      m_writer(store, bulk && kind == ImportKind::orders && !options.skip_bad)
  {
    if (m_writer.bulk()) {
      m_pipeline.emplace(m_writer);
    }
  }

  // The bulk path found an order_id twice in the file; its work is rolled back.
  bool needs_row_path() const { return m_needs_row_path; }

  Result<ImportReport> run()
  {
    RecordSource source;
    source.path = m_path;
    source.on_record = [this](const Record& r) { record(r); };
    source.on_problem = [this](std::size_t line, const std::string& problem) { bad(line, problem); };
    if (m_options.progress) {
      source.on_progress = [this, &source](std::uintmax_t bytes) {
        if (source.size > 0) {
          std::fprintf(stderr, "\rimporting %s: %3d%%", m_path.c_str(), static_cast<int>(100 * bytes / source.size));
        }
      };
    }
    auto read = read_records(source);
    if (m_options.progress) {
      std::fprintf(stderr, "\r\033[K");
    }
    if (!read) {
      return Result<ImportReport>::failure(read.error());
    }
    if (m_report.rows == 0 && m_report.bad == 0) {
      return Result<ImportReport>::failure(m_path + ": no rows to import");
    }
    if (m_report.bad == 0 || m_options.skip_bad) {
      if (m_pipeline) {
        m_pipeline->finish();
      }
      if (m_writer.bulk() && !m_writer.finish_bulk_orders(m_options.now)) {
        m_needs_row_path = true;
        return m_report;
      }
      m_writer.commit();
      m_report.written = true;
    }
    return m_report;
  }

private:
  void bad(std::size_t line, const std::string& reason)
  {
    ++m_report.bad;
    if (m_report.problems.size() < m_options.max_problems_listed) {
      m_report.problems.push_back(m_path + ":" + std::to_string(line) + ": " + reason);
    }
  }

  // The order columns of a CSV file's layout, looked up once (JSON Lines records have none).
  // False: a required column is missing, and each row says so through the slow path.
  bool order_layout(const Record& r)
  {
    if (r.layout != m_layout) {
      m_layout = r.layout;
      m_columns.clear();
      for (const char* name : {"order_id", "customer_id", "ordered_at", "amount", "currency", "category"}) {
        std::size_t k = 0;
        while (k < r.fields.size() && r.fields[k].first != name) {
          ++k;
        }
        m_columns.push_back(k); // r.fields.size(): absent
      }
      m_layout_complete =
        std::all_of(m_columns.begin(), m_columns.begin() + 4, [&](std::size_t k) { return k < r.fields.size(); });
    }
    return m_layout_complete;
  }

  void record(const Record& r)
  {
    if (m_kind == ImportKind::orders && r.layout != 0 && r.structured.empty() && order_layout(r)) {
      const auto field = [&](std::size_t k) {
        return m_columns[k] < r.fields.size() ? &r.fields[m_columns[k]].second : nullptr;
      };
      ++m_report.rows;
      const OrderFields fields{field(0), field(1), field(2), field(3), field(4), field(5)};
      if (auto problem = order(fields); !problem.empty()) {
        --m_report.rows;
        bad(r.line, problem);
      }
      return;
    }
    // Every record: in JSON Lines each line has its own keys.
    for (const auto& column : required_columns(m_kind)) {
      if (!r.find(column)) {
        bad(r.line, "missing column '" + column + "'");
        return;
      }
      if (r.is_structured(column)) {
        bad(r.line, column + " must be a text or a number, not a JSON object, array or boolean");
        return;
      }
    }
    ++m_report.rows;
    std::string problem;
    switch (m_kind) {
    case ImportKind::customers:
      problem = customer(r);
      break;
    case ImportKind::orders:
      problem = order(OrderFields{r.find("order_id"), r.find("customer_id"), r.find("ordered_at"), r.find("amount"),
                                  r.find("currency"), r.find("category")});
      break;
    case ImportKind::events:
      problem = event(r);
      break;
    }
    if (!problem.empty()) {
      --m_report.rows;
      bad(r.line, problem);
    }
  }

  // A bad row that would be written must not be: once anything is bad (without
  // --skip-bad) writing stops, and the transaction is rolled back at the end.
  bool writing() const { return m_report.bad == 0 || m_options.skip_bad; }

  void count(InsertOutcome outcome)
  {
    (outcome == InsertOutcome::inserted ? m_report.inserted : m_report.unchanged)++;
  }

  std::string customer(const Record& r)
  {
    CustomerRow row;
    if (auto p = parse_customer(r, row); !p.empty()) {
      return p;
    }
    if (m_customers_seen.count(row.customer_id)) {
      return "customer_id '" + row.customer_id + "' appears twice in this file";
    }
    m_customers_seen.insert(row.customer_id); // only once the row is valid
    if (writing()) {
      m_writer.upsert_customer(row, m_options.now);
      ++m_report.inserted;
    }
    return {};
  }

  std::string order(const OrderFields& fields)
  {
    // Reused: its buffers survive from row to row. A bulk load parses straight into the
    // pipeline's next slot.
    auto& row = m_pipeline ? m_pipeline->slot() : m_order;
    if (auto p = parse_order(fields, m_options.now, row, m_scratch); !p.empty()) {
      return p;
    }
    if (m_pipeline) {
      if (writing()) {
        m_pipeline->push_slot();
        ++m_report.inserted;
      }
      return {};
    }
    if (writing()) {
      // With --skip-bad a conflicting order must not leave its customer behind: look first.
      // Without it a conflict rolls the whole file back anyway, so the lookup is spared.
      if (m_options.skip_bad) {
        const auto stored = m_writer.compare_order(row);
        if (stored == InsertOutcome::conflict) {
          return "order_id '" + row.order_id + "' is already stored with other values";
        }
        if (stored == InsertOutcome::unchanged) {
          count(stored);
          return {};
        }
      }
      // Orders come grouped by customer in most exports: skip the lookup for a repeat.
      if (row.customer_id != m_last_customer) {
        m_writer.ensure_customer(row.customer_id, m_options.now);
        m_last_customer = row.customer_id;
      }
      const auto outcome = m_writer.insert_order(row);
      if (outcome == InsertOutcome::conflict) {
        return "order_id '" + row.order_id + "' is already stored with other values";
      }
      count(outcome);
    }
    return {};
  }

  std::string event(const Record& r)
  {
    EventRow row;
    if (auto p = parse_event(r, m_options.now, row); !p.empty()) {
      return p;
    }
    if (writing()) {
      m_writer.ensure_customer(row.customer_id, m_options.now);
      count(m_writer.insert_event(row));
    }
    return {};
  }

  ImportKind m_kind;
  std::string m_path;
  ImportOptions m_options;
  Store::Writer m_writer;
  std::optional<OrderPipeline> m_pipeline; // after the writer: stops before it rolls back
  ImportReport m_report;
  std::unordered_set<std::string> m_customers_seen;
  OrderRow m_order;
  bool m_needs_row_path = false;
  std::string m_scratch;
  std::string m_last_customer;
  std::size_t m_layout = 0;
  std::vector<std::size_t> m_columns; // order columns' places in the layout's records
  bool m_layout_complete = false;
};

} // namespace

Result<ImportReport>
import_file(Store& store, ImportKind kind, const std::string& path, const ImportOptions& options)
{
  try {
    {
      Importer bulk(store, kind, path, options, true);
      auto report = bulk.run();
      if (!bulk.needs_row_path()) {
        return report;
      }
    } // rolled back here
    return Importer(store, kind, path, options, false).run();
  } catch (const std::exception& e) {
    return Result<ImportReport>::failure(path + ": import failed, nothing was written: " + e.what());
  }
}

} // namespace cvmd
