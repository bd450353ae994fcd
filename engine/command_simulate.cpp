#include "engine/command_simulate.hpp"

#include "dsl/dsl.hpp"
#include "engine/command_common.hpp"
#include "engine/command_data.hpp"
#include "engine/orchestrator.hpp"
#include "engine/records.hpp"
#include "engine/response_model.hpp"
#include "engine/simulation_record.hpp"
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
    const auto bad = [&](const std::string& reason) {
      problems.push_back(path + ":" + std::to_string(r.line) + ": " + reason);
    };
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
  if (!options.record_into.empty()) {
    if (auto free = can_record_into(options.record_into); !free) {
      std::cerr << "cvmd simulate: " << free.error() << "\n";
      return 2;
    }
  }
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
      const double value = i ? state.number(aov, *i) : 0;
      for (auto& r : respond(*model, d, std::isnan(value) ? 0 : std::llround(value * 100))) {
        r.event.message_key = r.message_key;
        running->schedule(r.event);
        if (record) {
          responses.push_back(std::move(r));
        }
      }
    }
  });
  running = &orchestrator;
  // Recorded enrollments go after the store's own: none is overwritten.
  orchestrator.set_last_enrollment_id(opened->store->last_enrollment_id());
  opened->store->for_each_event(std::numeric_limits<std::int64_t>::min(), *from - 1,
                                [&](const EventRow& row) { orchestrator.add_history(event_of(row, false)); });
  for (const auto& e : future) {
    orchestrator.schedule(e);
  }
  VirtualClock clock(*from);
  const auto until = *from + static_cast<std::int64_t>(options.days) * 86400;
  orchestrator.run(clock, until);
  const auto& stats = orchestrator.stats();
  std::cerr << "cvmd simulate: " << state.size() << " customers, " << options.days << " days: " << stats.decisions
            << " decisions, " << stats.enrollments << " enrollments, " << stats.evaluations << " conditions evaluated, "
            << stats.refreshes << " ranking refreshes\n";
  std::cout.flush();
  if (!std::cout) {
    return 2;
  }
  if (record) {
    SimulationRecord r;
    r.program = &program;
    r.sources = sources_json(loaded->files).value_or("[]");
    r.from = *from;
    r.until = until;
    r.enrollments = orchestrator.enrollments();
    r.decisions = &decisions;
    r.responses = &responses;
    if (auto recorded = record_simulation(*opened->store, options.record_into, r); !recorded) {
      std::cerr << "cvmd simulate: " << recorded.error() << "\n";
      return 2;
    }
    std::cerr << "cvmd simulate: recorded into " << options.record_into << "\n";
  }
  return 0;
}

} // namespace

void
add_simulate_command(CLI::App& app, const GlobalOptions& global, int& exit_code)
{
  auto options = std::make_shared<SimulateOptions>();
  auto* simulate = app.add_subcommand("simulate", "Replay time over the store's customers with the scenarios: who "
                                                  "would get what and when; sends nothing, changes nothing");
  simulate->add_option("--from", options->from, "Start (a date is its midnight UTC, or a date-time)")->required();
  simulate->add_option("--days", options->days, "How many days to replay")->required();
  simulate->add_option(
    "--events", options->events_file,
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
