#include "engine/command_simulate.hpp"

#include "dsl/dsl.hpp"
#include "engine/command_common.hpp"
#include "engine/command_data.hpp"
#include "engine/orchestrator.hpp"
#include "engine/records.hpp"
#include "engine/response_model.hpp"
#include "engine/values.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>

namespace cvmd {

namespace {

struct SimulateOptions
{
  std::string from;
  int days = 0;
  std::string events_file;
  std::string format = "jsonl";
  std::string scenarios; // default: the config's
  std::string respond;   // a response model (YAML)
  std::string record_into;
};

// Everything a simulation decided and the responses it drew, written into a copy of the
// store as if the scenarios had run: the reports and the dashboard then read it like a
// real store. The original store is not touched.
int
record_simulation(const Store& store, const std::string& path, const dsl::Program& program, const std::string& sources,
                  std::int64_t from, const Orchestrator& orchestrator, const std::vector<Decision>& decisions,
                  const std::vector<Response>& responses)
{
  if (std::filesystem::exists(path)) {
    std::cerr << "cvmd simulate: " << path << " exists; --record-into writes a new store and never overwrites one\n";
    return 2;
  }
  auto copied = store.copy_to(path);
  if (!copied) {
    std::cerr << "cvmd simulate: " << copied.error() << "\n";
    return 2;
  }
  try {
    auto opened = Store::open(path);
    if (!opened) {
      throw std::runtime_error(opened.error());
    }
    Store::Writer writer(**opened);
    for (const auto& s : program.scenarios) {
      writer.save_scenario_version(s.id, s.version, s.file, sources, from);
      writer.mark_launched(s.id, from);
    }
    for (const auto& e : orchestrator.enrollments()) {
      writer.ensure_customer(e.customer_id, from);
      writer.save_enrollment(e);
    }
    for (const auto& d : decisions) {
      writer.save_decision(d);
      if (d.action != Action::send) {
        continue;
      }
      writer.queue_message(planned_message(d));
      writer.record_delivery({d.key, "sent", true, d.at, 0, "simulation", "", "simulated"});
    }
    for (const auto& r : responses) {
      if (r.event.type == "order") {
        writer.insert_order({r.event.order_id, r.event.customer_id, r.event.at, r.event.amount_cents, "", ""});
      } else {
        writer.insert_event({r.event.customer_id, r.event.type, r.event.at,
                             boost::json::serialize(boost::json::object{{"template", r.template_name},
                                                                        {"message_key", r.message_key}})});
      }
    }
    writer.commit();
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored); // no half-recorded simulation
    std::cerr << "cvmd simulate: cannot record into " << path << ": " << e.what() << "\n";
    return 2;
  }
  std::cerr << "cvmd simulate: recorded into " << path << "\n";
  return 0;
}

// The future events of a simulation: each row checked, all or nothing.
std::optional<std::vector<CustomerEvent>>
read_future_events(const std::string& path, std::int64_t from)
{
  std::vector<CustomerEvent> out;
  std::vector<std::string> problems;
  RecordSource source;
  source.path = path;
  source.on_problem = [&](std::size_t line, const std::string& problem) {
    problems.push_back(path + ":" + std::to_string(line) + ": " + problem);
  };
  source.on_record = [&](const Record& r) {
    const auto bad = [&](const std::string& reason) { problems.push_back(path + ":" + std::to_string(r.line) + ": " + reason); };
    CustomerEvent e;
    for (const char* required : {"customer_id", "type", "at"}) {
      if (!r.find(required) || r.find(required)->empty()) {
        return bad(std::string("missing ") + required);
      }
    }
    e.customer_id = *r.find("customer_id");
    e.type = *r.find("type");
    auto at = parse_time(*r.find("at"));
    if (!at) {
      return bad("at: " + at.error());
    }
    if (*at < from) {
      return bad("at " + format_time(*at) + " is before --from: the simulation only replays the future");
    }
    e.at = *at;
    for (const char* name : {"template", "channel"}) {
      if (const auto* value = r.find(name); value && !value->empty()) {
        e.name = *value;
      }
    }
    if (e.type == "order") {
      const auto* amount = r.find("amount");
      if (!amount) {
        return bad("an order needs an amount");
      }
      auto cents = parse_amount(*amount);
      if (!cents) {
        return bad(cents.error());
      }
      e.amount_cents = *cents;
      const auto* order_id = r.find("order_id");
      e.order_id = order_id && !order_id->empty() ? *order_id : "simulated-" + std::to_string(r.line);
    }
    out.push_back(std::move(e));
  };
  auto read = read_records(source);
  if (!read) {
    std::cerr << read.error() << "\n";
    return std::nullopt;
  }
  for (const auto& p : problems) {
    std::cerr << p << "\n";
  }
  if (!problems.empty()) {
    return std::nullopt;
  }
  return out;
}

int
run_simulate(const GlobalOptions& global, const SimulateOptions& options)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  auto from = parse_time(options.from);
  if (!from) {
    std::cerr << "cvmd simulate: --from: " << from.error() << "\n";
    return 2;
  }
  if (options.days <= 0 || options.days > 3660) {
    std::cerr << "cvmd simulate: --days must be between 1 and 3660\n";
    return 2;
  }
  const auto& config = opened->config;
  int failed = 0;
  const auto loaded = load_scenarios(config, options.scenarios, "simulate", "nothing was simulated", failed);
  if (!loaded) {
    return failed;
  }
  const auto& program = *loaded->program;

  std::vector<CustomerEvent> future;
  if (!options.events_file.empty()) {
    auto events = read_future_events(options.events_file, *from);
    if (!events) {
      return 1;
    }
    future = std::move(*events);
  }

  auto metrics = config.metrics;
  metrics.predict_clv = uses_predictions(program);
  auto state = CustomerState::build(*opened->store, *from, metrics);

  OrchestratorSettings settings;
  settings.policies = config.policies;
  settings.default_timezone = config.timezone;
  settings.rankings_refresh_seconds = config.rankings_refresh_seconds;
  std::optional<ResponseModel> model;
  if (!options.respond.empty()) {
    auto loaded_model = load_response_model(options.respond);
    if (!loaded_model) {
      std::cerr << loaded_model.error() << "\ncvmd simulate: nothing was simulated\n";
      return 1;
    }
    model = std::move(*loaded_model);
  }
  const bool table = options.format == "table";
  const bool record = !options.record_into.empty();
  if (table) {
    std::cout << table_header() << "\n";
  }
  static const auto aov = static_cast<dsl::AttrId>(*dsl::find_attribute("aov"));
  std::vector<Decision> decisions;
  std::vector<Response> responses;
  Orchestrator* running = nullptr;
  Orchestrator orchestrator(program, state, settings, [&](const Decision& d) {
    std::cout << (table ? to_table_line(d) : to_json_line(d)) << "\n";
    if (record) {
      decisions.push_back(d);
    }
    if (model) {
      const auto i = state.index_of(d.customer);
      const auto usual = i ? std::llround(state.number(aov, *i) * 100) : 0;
      for (auto& r : respond(*model, d, std::isnan(state.number(aov, i.value_or(0))) ? 0 : usual)) {
        running->schedule(r.event);
        if (record) {
          responses.push_back(std::move(r));
        }
      }
    }
  });
  running = &orchestrator;
  opened->store->for_each_event(std::numeric_limits<std::int64_t>::min(), *from - 1, [&](const EventRow& row) {
    orchestrator.add_history({row.customer_id, row.type, row.at, property_name(row.properties), 0, {}, false});
  });
  for (const auto& e : future) {
    orchestrator.schedule(e);
  }
  VirtualClock clock(*from);
  orchestrator.run(clock, *from + static_cast<std::int64_t>(options.days) * 86400);
  const auto& stats = orchestrator.stats();
  std::cerr << "cvmd simulate: " << state.size() << " customers, " << options.days << " days: " << stats.decisions
            << " decisions, " << stats.enrollments << " enrollments, " << stats.evaluations << " conditions evaluated, "
            << stats.refreshes << " ranking refreshes\n";
  std::cout.flush();
  if (!std::cout) {
    return 2;
  }
  if (record) {
    const auto sources = sources_json(loaded->files);
    return record_simulation(*opened->store, options.record_into, program, sources.value_or("[]"), *from, orchestrator,
                             decisions, responses);
  }
  return 0;
}

} // namespace

void
add_simulate_command(CLI::App& app, const GlobalOptions& global, int& exit_code)
{
  auto options = std::make_shared<SimulateOptions>();
  auto* simulate = app.add_subcommand(
    "simulate", "Replay time over the store's customers with the scenarios: who would get what and when; sends nothing, changes nothing");
  simulate->add_option("--from", options->from, "Start (a date is its midnight UTC, or a date-time)")->required();
  simulate->add_option("--days", options->days, "How many days to replay")->required();
  simulate->add_option("--events", options->events_file,
                       "Future orders and events (CSV or JSON Lines: customer_id,type,at[,amount,order_id,template,channel])");
  simulate->add_option("--format", options->format, "Output: one JSON object per line, or a table")
    ->check(CLI::IsMember({"jsonl", "table"}));
  simulate->add_option("--scenarios", options->scenarios, "Scenario file or folder (default: the config's scenarios:)");
  simulate->add_option("--respond", options->respond,
                       "A synthetic response model (YAML): opens, clicks and orders drawn after each message");
  simulate->add_option("--record-into", options->record_into,
                       "Write a copy of the store with everything simulated in it (a new file), for the reports");
  simulate->callback([options, &global, &exit_code] { exit_code = run_simulate(global, *options); });
}

} // namespace cvmd
