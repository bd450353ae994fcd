#include "engine/command_run.hpp"

#include "dsl/dsl.hpp"
#include "dsl/source.hpp"
#include "engine/command_common.hpp"
#include "engine/orchestrator.hpp"
#include "engine/outbox_sender.hpp"
#include "engine/render.hpp"
#include "engine/run_lock.hpp"
#include "engine/values.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace cvmd {

std::string
outbox_directory(const Store& store, const std::string& outbox_option)
{
  return outbox_option.empty() ? (std::filesystem::path(store.path()).parent_path() / "outbox").string()
                               : outbox_option;
}

namespace {

struct RunOptions
{
  bool once = false;
  std::string now; // default: the wall clock
  std::string outbox;
};

// Goals can convert for this long after their window opened; older ended enrollments are
// not loaded again.
constexpr std::int64_t longest_goal_window = 400 * 86400;

std::unique_ptr<dsl::Program>
compile_pinned(const std::string& json, const dsl::TemplateCatalog& templates)
{
  boost::system::error_code ec;
  const auto value = boost::json::parse(json, ec);
  if (ec || !value.is_array()) {
    return nullptr;
  }
  std::vector<dsl::SourceText> sources;
  for (const auto& file : value.as_array()) {
    const auto* object = file.if_object();
    if (!object || !object->if_contains("path") || !object->if_contains("text")) {
      return nullptr;
    }
    sources.push_back({std::string(object->at("path").as_string()), std::string(object->at("text").as_string())});
  }
  auto loaded = dsl::load_sources(sources, templates);
  return loaded.program ? std::make_unique<dsl::Program>(std::move(*loaded.program)) : nullptr;
}

// The event types whose history a cycle needs: those the conditions ask about (opened,
// clicked, did NAME) and unsubscribes (the consent check before every send). Other events
// matter to a cycle only while they are new; their history is not read at all.
void
add_history_types(const dsl::Program& program, std::set<std::string>& types)
{
  const auto add = [&](const dsl::Condition& condition) {
    for (const auto& n : condition.nodes) {
      if (n.kind != dsl::NodeKind::event) {
        continue;
      }
      if (n.event == dsl::EventKind::opened || n.event == dsl::EventKind::clicked) {
        types.insert(dsl::to_string(n.event));
      } else if (n.event == dsl::EventKind::did && n.count) {
        types.insert(program.strings[n.text]);
      }
    }
  };
  for (const auto& s : program.scenarios) {
    add(s.when);
    add(s.where);
    add(s.exit);
    for (const auto& step : s.steps) {
      add(step.condition);
    }
  }
  for (const auto& segment : program.segments) {
    add(segment);
  }
}

std::string
default_templates_directory(const Config& config)
{
  return config.templates_set ? config.templates : (std::filesystem::path(config.scenarios) / "templates").string();
}

std::string
describe(const SendSummary& s)
{
  return std::to_string(s.sent) + " sent, " + std::to_string(s.retry) + " to retry, " + std::to_string(s.held) +
         " waiting, " + std::to_string(s.failed) + " failed, " + std::to_string(s.dead) + " dead-lettered";
}

// Each message is marked in its own transaction as soon as its gateway answers. A `kept`
// sender (the daemon's) keeps its connections and breakers from one cycle to the next.
SendSummary
deliver_due(Store& store, const Config& config, const CustomerState& state, const dsl::TemplateCatalog& templates,
            const dsl::Diagnostics& template_problems, std::int64_t now, const std::string& outbox_option,
            OutboxSender* kept)
{
  std::optional<OutboxSender> own;
  if (!kept) {
    kept = &own.emplace(config, outbox_directory(store, outbox_option));
  }
  kept->set_broken_templates(broken_templates(template_problems));
  return kept->send_due(store, state, templates, now, std::cerr);
}

// When the scenarios are refused nothing is planned, but what was planned before still
// goes out (messages of broken templates wait, with the reason in `cvmd outbox`).
int
deliver_only(Store& store, const Config& config, std::int64_t now, const std::string& outbox, OutboxSender* kept)
{
  dsl::TemplateCatalog templates;
  dsl::Diagnostics problems;
  templates.load_directory(default_templates_directory(config), problems);
  auto metrics = config.metrics;
  metrics.keep_later_buyers = true;
  auto state = CustomerState::build(store, now, metrics);
  const auto sent = deliver_due(store, config, state, templates, problems, now, outbox, kept);
  std::cout << "nothing planned (the scenarios have errors); " << describe(sent) << "\n";
  return 1;
}

int
run_once(const GlobalOptions& global, const RunOptions& options)
{
  auto exclusive = open_store_exclusive(global, "run");
  if (!exclusive) {
    return 2;
  }
  auto& store = *exclusive->opened.store;
  const auto& config = exclusive->opened.config;
  std::int64_t now = WallClock().now();
  if (!options.now.empty()) {
    auto parsed = parse_time(options.now);
    if (!parsed) {
      std::cerr << "cvmd run: --now: " << parsed.error() << "\n";
      return 2;
    }
    now = *parsed;
  }
  const int code = run_cycle(store, config, now, options.outbox);
  return code == 3 ? 1 : code; // the files are wrong, whatever ran
}

} // namespace

int
run_cycle(Store& store, const Config& config, std::int64_t now, const std::string& outbox, OutboxSender* sender)
{
  int refused = 0;
  const auto loaded = load_scenarios(config, {}, "run", "nothing new was planned from the files", refused);
  if (!loaded && refused != 1) {
    return refused;
  }
  dsl::TemplateCatalog templates;
  dsl::Diagnostics template_problems;
  const auto templates_directory = loaded ? loaded->templates_directory : default_templates_directory(config);
  if (!templates_directory.empty()) {
    templates.load_directory(templates_directory, template_problems);
  }
  std::optional<std::string> sources;
  std::unique_ptr<dsl::Program> last_good;
  if (loaded) {
    // The files are read again for the store: they must be what was just compiled (an
    // editor saving in between would otherwise pin text that was never checked).
    sources = sources_json(loaded->files);
    const auto again = sources ? compile_pinned(*sources, templates) : nullptr;
    const auto same = again && again->scenarios.size() == loaded->program->scenarios.size() &&
                      std::equal(again->scenarios.begin(), again->scenarios.end(), loaded->program->scenarios.begin(),
                                 [](const auto& a, const auto& b) { return a.id == b.id && a.version == b.version; });
    if (!same) {
      std::cerr << "cvmd run: a scenario file changed while it was read; try again\n";
      return 2;
    }
  } else {
    // Refused files never stop what ran before: the last set that passed its check keeps
    // running (compiled again from the sources the store kept) until the files are fixed.
    const auto saved = store.last_good_sources();
    last_good = saved ? compile_pinned(saved->first, templates) : nullptr;
    if (!last_good) {
      return deliver_only(store, config, now, outbox, sender);
    }
    std::cerr << "cvmd run: the scenarios of " << format_time(saved->second)
              << " (the last that passed their check) keep running until the files are fixed\n";
    sources = saved->first;
  }
  const auto& program = loaded ? *loaded->program : *last_good;

  const auto last = store.meta_time("last_cycle_at");
  if (last && now < *last) {
    // Going back would hand the events between the two moments to the orchestrator a second
    // time, and a scenario that may be entered again would plan their messages again.
    std::cout << "the last cycle ran to " << format_time(*last) << "; " << format_time(now)
              << " is earlier: nothing to do\n";
    return 0;
  }
  const auto start = last.value_or(now);
  auto metrics = config.metrics;
  metrics.predict_clv = uses_predictions(program);
  // A customer whose first order lies after the cycle's start stays, as a prospect, so
  // that the order arriving in this cycle finds their address, consent and profile.
  metrics.keep_later_buyers = true;
  // The cutoffs first: a row stored while the state is read (the daemon takes events during
  // cycles) waits for the next cycle instead of being handled without its customer's data.
  const auto stored_orders = store.last_order_seq();
  const auto stored_events = store.last_event_id();
  auto state = CustomerState::build(store, start, metrics);

  OrchestratorSettings settings;
  settings.policies = config.policies;
  settings.default_timezone = config.timezone;
  settings.rankings_refresh_seconds = config.rankings_refresh_seconds;
  std::vector<Decision> decisions;
  Orchestrator orchestrator(program, state, settings, [&](const Decision& d) { decisions.push_back(d); });
  orchestrator.set_launched(store.launched_scenarios());
  orchestrator.set_remembered(store.remembered_scenarios());
  store.for_each_match(
    [&](const std::string& scenario, const std::string& customer) { orchestrator.remember_match(scenario, customer); });
  orchestrator.set_last_enrollment_id(store.last_enrollment_id());
  store.for_each_entry([&](const std::string& customer, const std::string& scenario, std::int64_t at) {
    orchestrator.add_past_entry(customer, scenario, at);
  });
  store.for_each_message([&](const OutboxMessage& m) { orchestrator.add_sent(m); });
  // Optimized splits go on from what their earlier assignments brought.
  std::set<std::string> optimizing;
  for (const auto& s : program.scenarios) {
    for (const auto& step : s.steps) {
      if (step.kind == dsl::Step::Kind::split && step.optimize != dsl::Step::Optimize::none) {
        optimizing.insert(s.id);
      }
    }
  }
  for (const auto& scenario : optimizing) {
    for (const auto& r : store.assignment_results(scenario)) {
      orchestrator.add_split_history(r);
    }
  }
  std::size_t unloadable = 0;
  // Older versions are compiled once each, however many enrollments are on them.
  std::map<std::pair<std::string, std::string>, const dsl::Program*> pinned_versions;
  for (const auto& record : store.open_enrollments(start - longest_goal_window)) {
    const auto* current = program.find_scenario(record.scenario);
    const dsl::Program* pinned = nullptr;
    if (!current || current->version != record.version) {
      const auto key = std::pair{record.scenario, record.version};
      auto found = pinned_versions.find(key);
      if (found == pinned_versions.end()) {
        const auto source = store.scenario_source(record.scenario, record.version);
        auto compiled = source ? compile_pinned(source->second, templates) : nullptr;
        found = pinned_versions.emplace(key, compiled ? orchestrator.keep(std::move(compiled)) : nullptr).first;
      }
      pinned = found->second;
      if (!pinned) {
        ++unloadable;
        continue;
      }
    }
    if (!orchestrator.restore(record, pinned)) {
      ++unloadable;
    }
  }
  // What arrived since the last cycle: by time, and also by the order rows were stored, so
  // that a row stored late (stamped before the last cycle) still starts, ends or converts
  // what it should, once. Rows stored while this cycle runs wait for the next one.
  const auto seen_orders = store.meta_time("last_order_seq");
  const auto seen_events = store.meta_time("last_event_id");
  constexpr auto ever = std::numeric_limits<std::int64_t>::min();
  std::set<std::string> history_types{"unsubscribed"};
  add_history_types(program, history_types);
  for (const auto& [key, pinned] : pinned_versions) {
    if (pinned) {
      add_history_types(*pinned, history_types);
    }
  }
  store.for_each_event(
    ever, start, [&](const EventRow& row) { orchestrator.add_history(event_of(row, false)); }, {}, &history_types);
  store.for_each_event(
    start, now,
    [&](const EventRow& row) {
      orchestrator.schedule(event_of(row, false));
    },
    {0, stored_events});
  store.for_each_order_between(
    start, now,
    [&](const OrderRow& o) {
      orchestrator.schedule({o.customer_id, "order", o.ordered_at, {}, o.amount_cents, o.order_id, false, {}});
    },
    {0, stored_orders});
  if (last && seen_events) {
    store.for_each_event(
      ever, start,
      [&](const EventRow& row) {
        orchestrator.schedule(event_of(row, true));
      },
      {*seen_events, stored_events});
  }
  if (last && seen_orders) {
    store.for_each_order_between(
      ever, start,
      [&](const OrderRow& o) {
        orchestrator.schedule({o.customer_id, "order", o.ordered_at, {}, o.amount_cents, o.order_id, true, {}});
      },
      {*seen_orders, stored_orders});
  }
  VirtualClock clock(start);
  orchestrator.run(clock, now + 1);

  // The whole cycle in one transaction: a crash before the commit leaves the plan as it
  // was and the next run repeats the same cycle with the same keys.
  std::size_t queued = 0;
  {
    Store::Writer writer(store);
    for (const auto& s : program.scenarios) {
      writer.save_scenario_version(s.id, s.version, s.file, *sources, now);
      writer.mark_launched(s.id, start);
    }
    for (const auto& [scenario, customers] : orchestrator.matches()) {
      writer.replace_matches(scenario, customers);
    }
    for (const auto& e : orchestrator.enrollments()) {
      writer.save_enrollment(e);
    }
    for (const auto& d : decisions) {
      writer.save_decision(d);
      if (d.action == Action::send) {
        queued += writer.queue_message(planned_message(d)) ? 1 : 0;
      }
    }
    if (loaded) {
      writer.save_program_sources(*sources, now);
    }
    writer.set_meta_time("last_cycle_at", now);
    writer.set_meta_time("last_order_seq", stored_orders);
    writer.set_meta_time("last_event_id", stored_events);
    writer.commit();
  }

  const auto sent = deliver_due(store, config, state, templates, template_problems, now, outbox, sender);
  std::map<std::string, std::size_t> by_action;
  for (const auto& d : decisions) {
    ++by_action[to_string(d.action)];
  }
  std::cout << "cycle " << format_time(start) << " to " << format_time(now) << ": " << decisions.size() << " decisions";
  for (const auto& [action, count] : by_action) {
    std::cout << ", " << count << " " << action;
  }
  std::cout << "; " << queued << " messages planned; " << describe(sent)
            << (loaded ? "" : " (on the last good scenarios: the files have errors)") << "\n";
  if (unloadable > 0) {
    std::cerr << "cvmd run: " << unloadable
              << " enrollments could not continue: their scenario version is no longer loadable (kept as they were)\n";
  }
  return loaded ? 0 : 3;
}

void
add_run_command(CLI::App& app, const GlobalOptions& global, int& exit_code)
{
  auto options = std::make_shared<RunOptions>();
  auto* run = app.add_subcommand("run", "Advance the plan: enroll, decide what is due, hand messages to the connector");
  run->add_flag("--once", options->once, "One cycle from the last one up to now, then stop")->required();
  run->add_option("--now", options->now, "The cycle's end instead of the wall clock (tests, catching up)");
  run->add_option("--outbox", options->outbox, "Folder of the file connector (default: outbox/ beside the store)");
  run->callback([options, &global, &exit_code] { exit_code = run_once(global, *options); });
}

} // namespace cvmd
