#include "engine/command_data.hpp"

#include "engine/aggregates.hpp"
#include "engine/clv.hpp"
#include "engine/config.hpp"
#include "engine/customer_state.hpp"
#include "engine/importer.hpp"
#include "engine/store.hpp"
#include "engine/table.hpp"
#include "engine/values.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

namespace cvmd {

// Exit code 2 and a message for a configuration or store problem.
std::optional<Opened>
open_store(const GlobalOptions& global, bool must_exist)
{
  auto config = load_config(global.config_path);
  if (!config) {
    std::cerr << config.error() << "\n";
    return std::nullopt;
  }
  const auto path = global.store_path.empty() ? config->store : global.store_path;
  std::error_code ec;
  if (must_exist && !std::filesystem::exists(path, ec)) {
    std::cerr << "cvmd: " << path << ": no store here (import customers and orders first, or pass --store)\n";
    return std::nullopt;
  }
  auto store = Store::open(path);
  if (!store) {
    std::cerr << "cvmd: " << store.error() << "\n";
    return std::nullopt;
  }
  return Opened{*config, std::move(*store)};
}

std::optional<ExclusiveStore>
open_store_exclusive(const GlobalOptions& global, const std::string& command)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return std::nullopt;
  }
  auto lock = RunLock::acquire(opened->store->path());
  if (!lock) {
    std::cerr << "cvmd " << command << ": " << lock.error() << "; nothing was done\n";
    return std::nullopt;
  }
  return ExclusiveStore{std::move(*opened), std::move(*lock)};
}

namespace {

std::int64_t
now_seconds()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

std::optional<std::int64_t>
parse_at(const std::string& at, const char* option)
{
  if (at.empty()) {
    return now_seconds();
  }
  auto parsed = parse_time(at);
  if (!parsed) {
    std::cerr << "cvmd: " << option << ": " << parsed.error() << "\n";
    return std::nullopt;
  }
  return at.size() == 10 ? *parsed + 86399 : *parsed;
}

namespace {



// The store and the moment a listing is about; nothing when either is wrong (said on stderr).
struct OpenedAt
{
  Opened opened;
  std::int64_t at;
};

std::optional<OpenedAt>
open_at(const GlobalOptions& global, const std::string& at_text)
{
  auto opened = open_store(global);
  const auto at = parse_at(at_text);
  if (!opened || !at) {
    return std::nullopt;
  }
  return OpenedAt{std::move(*opened), *at};
}

int
run_import(const GlobalOptions& global, const std::string& kind_name, const std::string& file, bool skip_bad)
{
  auto opened = open_store(global);
  if (!opened) {
    return 2;
  }
  const auto kind = kind_name == "customers" ? ImportKind::customers
                    : kind_name == "orders"  ? ImportKind::orders
                                             : ImportKind::events;
  ImportOptions options;
  options.skip_bad = skip_bad;
  options.progress = isatty(STDERR_FILENO) != 0;
  options.now = now_seconds();
  auto report = import_file(*opened->store, kind, file, options);
  if (!report) {
    std::cerr << report.error() << "\n";
    return 1;
  }
  for (const auto& problem : report->problems) {
    std::cout << problem << "\n";
  }
  if (report->bad > report->problems.size()) {
    std::cout << "... and " << report->bad - report->problems.size() << " more bad rows\n";
  }
  if (!report->written) {
    std::cout << file << ": " << report->bad << (report->bad == 1 ? " bad row" : " bad rows")
              << "; nothing was imported. Fix them, or import the good rows with --skip-bad.\n";
    return 1;
  }
  std::cout << file << ": " << report->rows << " rows: " << report->inserted << " new, " << report->unchanged
            << " already stored, " << report->bad << " bad (skipped) -> " << opened->store->path() << "\n";
  return report->bad > 0 ? 1 : 0;
}

boost::json::value
number_or_null(double v)
{
  return std::isnan(v) ? boost::json::value(nullptr) : boost::json::value(v);
}

int
run_segments(const GlobalOptions& global, const std::string& at_text, const std::string& format)
{
  auto session = open_at(global, at_text);
  if (!session) {
    return 2;
  }
  auto* opened = &session->opened;
  const auto at = &session->at;
  auto metrics = opened->config.metrics;
  metrics.predict_clv = false; // the listing shows no predictions: spare the model fits
  const auto state = CustomerState::build(*opened->store, *at, metrics);
  struct Group
  {
    std::size_t customers = 0;
    std::int64_t cents = 0; // summed exactly, so the shown revenue carries no rounding noise
    double orders = 0;
  };
  std::map<std::pair<std::string, std::string>, Group> groups;
  const auto id_of = [](const char* name) { return static_cast<dsl::AttrId>(*dsl::find_attribute(name)); };
  const auto revenue_id = id_of("revenue");
  const auto orders_id = id_of("orders");
  const auto vip_id = id_of("vip");
  const std::pair<const char*, dsl::AttrId> dimensions[] = {
    {"lifecycle", id_of("lifecycle")}, {"rfm_segment", id_of("rfm_segment")}, {"value_tier", id_of("value_tier")}};
  std::int64_t total_cents = 0;
  const auto add = [&](Group& g, std::int64_t cents, double orders) {
    ++g.customers;
    g.cents += cents;
    g.orders += orders;
  };
  // Each dimension has a handful of values: a short list per dimension, searched by view,
  // instead of a map lookup with a fresh key per customer (a million customers, three each).
  std::vector<std::pair<std::string, Group>> found[std::size(dimensions)];
  Group vip;
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto cents = std::llround(state.number(revenue_id, i) * 100);
    const double orders = state.number(orders_id, i);
    total_cents += cents;
    for (std::size_t d = 0; d < std::size(dimensions); ++d) {
      const auto value = state.text(dimensions[d].second, i);
      if (value.empty()) {
        continue;
      }
      auto& list = found[d];
      auto it = std::find_if(list.begin(), list.end(), [&](const auto& entry) { return entry.first == value; });
      if (it == list.end()) {
        it = list.emplace(list.end(), std::string(value), Group{});
      }
      add(it->second, cents, orders);
    }
    if (state.flag(vip_id, i)) {
      add(vip, cents, orders);
    }
  }
  for (std::size_t d = 0; d < std::size(dimensions); ++d) {
    for (auto& [value, g] : found[d]) {
      groups[{dimensions[d].first, value}] = g;
    }
  }
  if (vip.customers > 0) {
    groups[{"vip", "vip"}] = vip;
  }
  const double total_revenue = static_cast<double>(total_cents) / 100;
  Table table;
  table.columns = {"dimension", "segment", "customers", "customer_share", "revenue", "revenue_share", "aov"};
  const double n = static_cast<double>(std::max<std::size_t>(state.size(), 1));
  for (const auto& [key, g] : groups) {
    const double revenue = static_cast<double>(g.cents) / 100;
    table.rows.push_back({boost::json::value(key.first), boost::json::value(key.second),
                          boost::json::value(static_cast<std::int64_t>(g.customers)),
                          boost::json::value(static_cast<double>(g.customers) / n),
                          boost::json::value(revenue),
                          number_or_null(total_revenue > 0 ? revenue / total_revenue : std::nan("")),
                          number_or_null(g.orders > 0 ? revenue / g.orders : std::nan(""))});
  }
  std::cout << table.render(format);
  return 0;
}

int
run_customer(const GlobalOptions& global, const std::string& id, const std::string& at_text, const std::string& format)
{
  auto session = open_at(global, at_text);
  if (!session) {
    return 2;
  }
  auto* opened = &session->opened;
  const auto at = &session->at;
  const auto state = CustomerState::build(*opened->store, *at, opened->config.metrics);
  const auto index = state.index_of(id);
  if (!index) {
    std::cerr << "cvmd customer: no customer '" << id << "' in " << opened->store->path() << "\n";
    return 1;
  }
  // Field names are the attribute names of the scenario language.
  boost::json::object o;
  o["customer_id"] = id;
  for (std::size_t a = 0; a < dsl::attributes().size(); ++a) {
    const auto& info = dsl::attributes()[a];
    const auto attr = static_cast<dsl::AttrId>(a);
    if (info.type == dsl::ValueType::number) {
      o[info.name] = number_or_null(state.number(attr, *index));
    } else if (info.type == dsl::ValueType::boolean) {
      o[info.name] = state.flag(attr, *index);
    } else {
      o[info.name] = state.text(attr, *index);
    }
  }
  if (state.number(static_cast<dsl::AttrId>(*dsl::find_attribute("orders")), *index) > 0) {
    o["first_order_at"] = format_time(state.first_order_at(*index));
    o["last_order_at"] = format_time(state.last_order_at(*index));
  }
  const auto stored = opened->store->customer(id);
  if (stored && !stored->profile.empty()) {
    boost::json::object profile;
    for (const auto& [name, value] : stored->profile) {
      profile[name] = value;
    }
    o["profile"] = std::move(profile);
  }
  if (format == "json") {
    std::cout << boost::json::serialize(o) << "\n";
    return 0;
  }
  Table table;
  table.columns = {"attribute", "value"};
  for (const auto& [key, value] : o) {
    table.rows.push_back({boost::json::value(key), value.is_object() ? boost::json::value(boost::json::serialize(value)) : value});
  }
  std::cout << table.render(format);
  return 0;
}

int
run_clv(const GlobalOptions& global, const std::string& at_text, const std::string& period, const std::string& format)
{
  auto session = open_at(global, at_text);
  if (!session) {
    return 2;
  }
  auto* opened = &session->opened;
  const auto at = &session->at;
  const double period_days = period == "day" ? 1 : 7;
  const auto started = std::chrono::steady_clock::now();
  const auto customers = summarize_purchases(*opened->store, *at, period_days);
  const auto read = std::chrono::steady_clock::now();
  auto purchases = fit_bgnbd(customers);
  if (!purchases) {
    std::cerr << "cvmd clv: " << purchases.error() << "\n";
    return 1;
  }
  auto value = fit_gamma_gamma(customers);
  if (!value) {
    std::cerr << "cvmd clv: " << value.error() << "\n";
    return 1;
  }
  const auto fitted = std::chrono::steady_clock::now();
  const auto seconds = [](auto from, auto to) { return std::chrono::duration<double>(to - from).count(); };
  boost::json::object out;
  out["bgnbd"] = {{"r", purchases->r}, {"alpha", purchases->alpha}, {"a", purchases->a}, {"b", purchases->b},
                  {"log_likelihood", purchases->log_likelihood}};
  out["gamma_gamma"] = {{"p", value->p}, {"q", value->q}, {"gamma", value->gamma},
                        {"log_likelihood", value->log_likelihood}};
  out["customers"] = static_cast<std::int64_t>(customers.size());
  out["period"] = period;
  if (format == "json") {
    std::cout << boost::json::serialize(out) << "\n";
    return 0;
  }
  std::printf("BG/NBD (purchases, per %s): r %.4f  alpha %.4f  a %.4f  b %.4f  log-likelihood %.2f\n", period.c_str(),
              purchases->r, purchases->alpha, purchases->a, purchases->b, purchases->log_likelihood);
  std::printf("Gamma-Gamma (order value): p %.4f  q %.4f  gamma %.4f  log-likelihood %.2f\n", value->p, value->q,
              value->gamma, value->log_likelihood);
  std::printf("fitted on %zu buyers as of %s: orders read and summarised in %.2f s, both models fitted in %.2f s\n",
              customers.size(), format_date(*at).c_str(), seconds(started, read), seconds(read, fitted));
  return 0;
}

int
run_metrics(const GlobalOptions& global, const std::string& at_text, const std::string& format, const std::string& view)
{
  auto session = open_at(global, at_text);
  if (!session) {
    return 2;
  }
  auto* opened = &session->opened;
  const auto at = &session->at;
  const auto state = CustomerState::build(*opened->store, *at, opened->config.metrics);
  const auto a = compute_aggregates(*opened->store, state, opened->config.acquisition_spend);

  Table summary;
  summary.columns = {"metric", "value"};
  const auto add = [&](const char* name, boost::json::value v) { summary.rows.push_back({boost::json::value(name), v}); };
  add("customers", static_cast<std::int64_t>(a.customers));
  add("buyers", static_cast<std::int64_t>(a.buyers));
  add("orders", static_cast<std::int64_t>(a.orders));
  add("revenue", a.revenue);
  add("aov", number_or_null(a.aov));
  add("purchase_frequency", number_or_null(a.purchase_frequency));
  add("repeat_rate", number_or_null(a.repeat_rate));
  add("top20_revenue_share", number_or_null(a.top20_revenue_share));
  add("historical_ltv", number_or_null(a.historical_ltv));
  add("predicted_ltv", number_or_null(a.predicted_ltv));

  Table months;
  months.columns = {"month", "buyers", "retained", "retention", "churn", "revenue"};
  for (const auto& m : a.months) {
    months.rows.push_back({boost::json::value(m.month), boost::json::value(static_cast<std::int64_t>(m.buyers)),
                           boost::json::value(static_cast<std::int64_t>(m.retained)), number_or_null(m.retention),
                           number_or_null(std::isnan(m.retention) ? m.retention : 1 - m.retention),
                           boost::json::value(m.revenue)});
  }
  Table cohorts;
  cohorts.columns = {"cohort", "size"};
  std::size_t width = 0;
  for (const auto& c : a.cohorts) {
    width = std::max(width, c.retention.size());
  }
  for (std::size_t k = 0; k < width; ++k) {
    cohorts.columns.push_back("m" + std::to_string(k));
  }
  for (const auto& c : a.cohorts) {
    std::vector<boost::json::value> row{boost::json::value(c.month), boost::json::value(static_cast<std::int64_t>(c.size))};
    for (std::size_t k = 0; k < width; ++k) {
      row.push_back(k < c.retention.size() ? boost::json::value(c.retention[k]) : boost::json::value(nullptr));
    }
    cohorts.rows.push_back(std::move(row));
  }

  Table acquisition;
  acquisition.columns = {"channel", "month", "spend", "new_customers", "cac", "ltv", "ltv_to_cac"};
  for (const auto& x : a.acquisition) {
    acquisition.rows.push_back({boost::json::value(x.channel), boost::json::value(x.month), boost::json::value(x.spend),
                                boost::json::value(static_cast<std::int64_t>(x.new_customers)), number_or_null(x.cac),
                                number_or_null(x.ltv), number_or_null(x.ltv_to_cac)});
  }

  if (format == "json") {
    boost::json::object out;
    for (const auto& row : summary.rows) {
      out[row[0].as_string()] = row[1];
    }
    out["months"] = boost::json::parse(months.render("json"));
    out["cohorts"] = boost::json::parse(cohorts.render("json"));
    out["acquisition"] = boost::json::parse(acquisition.render("json"));
    std::cout << boost::json::serialize(out) << "\n";
  } else if (format == "csv") {
    std::cout << (view == "months"        ? months
                  : view == "cohorts"     ? cohorts
                  : view == "acquisition" ? acquisition
                                          : summary)
                   .render("csv");
  } else {
    std::cout << summary.render("table") << "\n" << months.render("table") << "\ncohort retention (share of each first-order month buying in month +k)\n"
              << cohorts.render("table");
    if (!acquisition.rows.empty()) {
      std::cout << "\nacquisition (new customers by first-order month and acquisition_channel)\n"
                << acquisition.render("table");
    }
  }
  return 0;
}

} // namespace

void
add_data_commands(CLI::App& app, const GlobalOptions& global, int& exit_code)
{
  struct ImportArgs
  {
    std::string kind;
    std::string file;
    bool skip_bad = false;
  };
  auto args = std::make_shared<ImportArgs>();
  auto* import = app.add_subcommand("import", "Import customers, orders or events from CSV (with a header) or JSON Lines");
  import->add_option("kind", args->kind, "customers | orders | events")->required()->check(CLI::IsMember({"customers", "orders", "events"}));
  import->add_option("file", args->file, "CSV file, or .jsonl / .ndjson")->required();
  import->add_flag("--skip-bad", args->skip_bad, "Import the good rows and list the bad ones (default: reject the whole file)");
  import->callback([args, &global, &exit_code] { exit_code = run_import(global, args->kind, args->file, args->skip_bad); });

  struct ListArgs
  {
    std::string at;
    std::string format = "table";
    std::string id;
  };
  auto segments_args = std::make_shared<ListArgs>();
  auto* segments = app.add_subcommand("segments", "Sizes, revenue and AOV of lifecycle stages, RFM segments, value tiers and VIPs");
  segments->add_option("--at", segments_args->at, "As of this date (YYYY-MM-DD, inclusive) or time; default now");
  segments->add_option("--format", segments_args->format, "Output format")->check(CLI::IsMember({"table", "json", "csv"}));
  segments->callback([segments_args, &global, &exit_code] {
    exit_code = run_segments(global, segments_args->at, segments_args->format);
  });

  auto metrics_args = std::make_shared<ListArgs>();
  auto metrics_view = std::make_shared<std::string>("summary");
  auto* metrics = app.add_subcommand("metrics", "Shop-wide metrics: revenue, AOV, repeat rate, monthly retention, cohorts, LTV");
  metrics->add_option("--at", metrics_args->at, "As of this date (YYYY-MM-DD, inclusive) or time; default now");
  metrics->add_option("--format", metrics_args->format, "Output format")->check(CLI::IsMember({"table", "json", "csv"}));
  metrics->add_option("--view", *metrics_view, "With --format csv: which table")->check(CLI::IsMember({"summary", "months", "cohorts", "acquisition"}));
  metrics->callback([metrics_args, metrics_view, &global, &exit_code] {
    exit_code = run_metrics(global, metrics_args->at, metrics_args->format, *metrics_view);
  });

  auto clv_args = std::make_shared<ListArgs>();
  auto clv_period = std::make_shared<std::string>("week");
  auto* clv_command = app.add_subcommand("clv", "Fit the BG/NBD and Gamma-Gamma models and print their parameters");
  clv_command->add_option("--at", clv_args->at, "End of the calibration window (inclusive); default now");
  clv_command->add_option("--period", *clv_period, "Time unit of the model")->check(CLI::IsMember({"day", "week"}));
  clv_command->add_option("--format", clv_args->format, "Output format")->check(CLI::IsMember({"table", "json"}));
  clv_command->callback([clv_args, clv_period, &global, &exit_code] {
    exit_code = run_clv(global, clv_args->at, *clv_period, clv_args->format);
  });

  auto customer_args = std::make_shared<ListArgs>();
  auto* customer = app.add_subcommand("customer", "One customer's profile, metrics and segments");
  customer->add_option("id", customer_args->id, "customer_id")->required();
  customer->add_option("--at", customer_args->at, "As of this date (YYYY-MM-DD, inclusive) or time; default now");
  customer->add_option("--format", customer_args->format, "Output format")->check(CLI::IsMember({"table", "json", "csv"}));
  customer->callback([customer_args, &global, &exit_code] {
    exit_code = run_customer(global, customer_args->id, customer_args->at, customer_args->format);
  });
}

} // namespace cvmd
