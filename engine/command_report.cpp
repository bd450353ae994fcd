#include "engine/command_report.hpp"

#include "engine/dashboard.hpp"
#include "engine/experiment_report.hpp"
#include "engine/segment_history.hpp"
#include "engine/table.hpp"
#include "engine/values.hpp"

#include <fstream>
#include <iostream>
#include <memory>

namespace cvmd {

namespace {

struct ReportArgs
{
  std::string scenario;
  std::string outcomes_file;
  std::string metric = "conversions";
  std::string format = "table";
  std::string dimension = "lifecycle";
  std::string from;
  std::string to;
  std::string output;
};

int
write_out(const std::string& text)
{
  std::cout << text;
  std::cout.flush();
  return std::cout ? 0 : 2;
}

int
run_report_ab(const GlobalOptions& global, const ReportArgs& args)
{
  std::vector<ExperimentData> experiments;
  if (!args.outcomes_file.empty()) {
    if (!args.scenario.empty() || args.metric != "conversions") {
      std::cerr << "cvmd report ab: --outcomes reports the file's conversions as they are: a SCENARIO or --metric "
                   "does not apply to it\n";
      return 2;
    }
    auto read = experiments_from_file(args.outcomes_file);
    if (!read) {
      std::cerr << read.error() << "\ncvmd report ab: nothing reported\n";
      return 1;
    }
    experiments = std::move(*read);
  } else {
    auto opened = open_store(global, true);
    if (!opened) {
      return 2;
    }
    experiments = experiments_from_results(opened->store->assignment_results(args.scenario),
                                           args.metric == "clicks" ? Success::clicks : Success::conversions);
  }
  return write_out(render_experiments(analyze_experiments(experiments), args.format));
}

int
run_report_scenarios(const GlobalOptions& global, const ReportArgs& args)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  Table t;
  t.columns = {"scenario",     "entered",   "active",          "sent",    "delivered",  "bounced", "opened", "clicked",
               "unsubscribed", "converted", "conversion_rate", "revenue", "suppressed", "not_sent"};
  for (const auto& a : opened->store->scenario_activity()) {
    if (!args.scenario.empty() && a.scenario != args.scenario) {
      continue;
    }
    const auto reached = [&](const char* outcome) {
      const auto found = a.reached.find(outcome);
      return boost::json::value(found == a.reached.end() ? 0 : found->second);
    };
    std::string suppressed;
    for (const auto& [reason, count] : a.suppressed) {
      suppressed += (suppressed.empty() ? "" : ", ") + reason + " " + std::to_string(count);
    }
    std::string not_sent;
    for (const auto& [state, count] : a.messages) {
      if (state != "sent") {
        not_sent += (not_sent.empty() ? "" : ", ") + state + " " + std::to_string(count);
      }
    }
    const auto rate = a.entered > 0
                        ? boost::json::value(static_cast<double>(a.converted) / static_cast<double>(a.entered))
                        : boost::json::value(nullptr);
    t.rows.push_back({boost::json::value(a.scenario), boost::json::value(a.entered), boost::json::value(a.active),
                      reached("sent"), reached("delivered"), reached("bounced"), reached("opened"), reached("clicked"),
                      reached("unsubscribed"), boost::json::value(a.converted), rate,
                      boost::json::value(static_cast<double>(a.revenue_cents) / 100), boost::json::value(suppressed),
                      boost::json::value(not_sent)});
  }
  if (t.rows.empty() && args.format == "table") {
    return write_out(args.scenario.empty() ? "no scenario has run on this store yet\n"
                                           : "scenario " + args.scenario + " has not run on this store\n");
  }
  return write_out(t.render(args.format));
}

int
run_report_segments(const GlobalOptions& global, const ReportArgs& args)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  const auto to = parse_at(args.to, "--to");
  if (!to) {
    return 2;
  }
  std::optional<std::int64_t> from = *to - 365 * 86400;
  if (!args.from.empty()) {
    from = parse_at(args.from, "--from");
    if (!from) {
      return 2;
    }
  }
  if (*from >= *to) {
    std::cerr << "cvmd report segments: --from must be before --to\n";
    return 2;
  }
  const auto& metrics = opened->config.metrics;
  const auto sizes = segment_sizes(*opened->store, metrics, args.dimension, *from, *to);
  const auto moved = migration(*opened->store, metrics, args.dimension, *from, *to);
  if (args.format == "table") {
    Table sizes_table;
    sizes_table.columns = {"date"};
    for (const auto& s : sizes.segments) {
      sizes_table.columns.push_back(s);
    }
    for (std::size_t d = 0; d < sizes.dates.size(); ++d) {
      auto& row = sizes_table.rows.emplace_back();
      row.push_back(boost::json::value(format_time(sizes.dates[d]).substr(0, 10)));
      for (const auto c : sizes.counts[d]) {
        row.push_back(boost::json::value(c));
      }
    }
    Table matrix;
    matrix.columns = {"from \\ to"};
    for (const auto& s : moved.segments) {
      matrix.columns.push_back(s);
    }
    for (std::size_t r = 0; r < moved.segments.size(); ++r) {
      auto& row = matrix.rows.emplace_back();
      row.push_back(boost::json::value(moved.segments[r]));
      for (const auto c : moved.counts[r]) {
        row.push_back(boost::json::value(c));
      }
    }
    return write_out(args.dimension + " sizes at month ends:\n" + sizes_table.render("table") + "\n" + args.dimension +
                     " migration from " + format_time(*from).substr(0, 10) + " to " + format_time(*to).substr(0, 10) +
                     " (rows: then, columns: now):\n" + matrix.render("table"));
  }
  // For tools: one row per number, each saying what it is.
  Table t;
  t.columns = {"kind", "dimension", "date", "segment", "to_segment", "customers", "revenue"};
  for (std::size_t d = 0; d < sizes.dates.size(); ++d) {
    for (std::size_t s = 0; s < sizes.segments.size(); ++s) {
      t.rows.push_back({boost::json::value("size"), boost::json::value(args.dimension),
                        boost::json::value(format_time(sizes.dates[d])), boost::json::value(sizes.segments[s]),
                        boost::json::value(""), boost::json::value(sizes.counts[d][s]),
                        boost::json::value(static_cast<double>(sizes.revenue_cents[d][s]) / 100)});
    }
  }
  for (std::size_t r = 0; r < moved.segments.size(); ++r) {
    for (std::size_t c = 0; c < moved.segments.size(); ++c) {
      if (moved.counts[r][c] == 0) {
        continue;
      }
      t.rows.push_back({boost::json::value("migration"), boost::json::value(args.dimension),
                        boost::json::value(format_time(*to)), boost::json::value(moved.segments[r]),
                        boost::json::value(moved.segments[c]), boost::json::value(moved.counts[r][c]),
                        boost::json::value(nullptr)});
    }
  }
  return write_out(t.render(args.format));
}

int
run_report_outcomes(const GlobalOptions& global, const ReportArgs& args)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  Table t;
  t.columns = {"at",         "outcome",     "scenario", "experiment", "variant", "customer_id",
               "enrollment", "message_key", "channel",  "template",   "revenue"};
  opened->store->for_each_outcome(args.scenario, [&](const OutcomeRow& r) {
    t.rows.push_back(
      {boost::json::value(format_time(r.at)), boost::json::value(r.outcome), boost::json::value(r.scenario),
       boost::json::value(r.experiment), boost::json::value(r.variant), boost::json::value(r.customer_id),
       boost::json::value(r.enrollment), boost::json::value(r.message_key), boost::json::value(r.channel),
       boost::json::value(r.template_name), boost::json::value(static_cast<double>(r.revenue_cents) / 100)});
  });
  return write_out(t.render(args.format));
}

int
run_report_html(const GlobalOptions& global, const ReportArgs& args)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  const auto at = parse_at(args.to, "--at");
  if (!at) {
    return 2;
  }
  const auto page = dashboard_page(*opened->store, opened->config.metrics, *at);
  const auto temporary = args.output + ".part";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << page;
    if (!out.flush()) {
      std::cerr << "cvmd report html: cannot write " << args.output << "\n";
      std::remove(temporary.c_str());
      return 2;
    }
  }
  if (std::rename(temporary.c_str(), args.output.c_str()) != 0) { // never a half-written report
    std::cerr << "cvmd report html: cannot write " << args.output << "\n";
    std::remove(temporary.c_str());
    return 2;
  }
  std::cout << "report written to " << args.output << " (" << page.size() / 1024 << " KiB, self-contained)\n";
  return 0;
}

CLI::Option*
add_format(CLI::App* command, ReportArgs& args)
{
  return command->add_option("--format", args.format, "Output format")->check(CLI::IsMember({"table", "json", "csv"}));
}

} // namespace

void
add_report_commands(CLI::App& app, const GlobalOptions& global, int& exit_code)
{
  auto* report = app.add_subcommand("report", "What the scenarios did and earned: A/B results, scenarios, segments");
  report->require_subcommand(1);
  const auto bind = [&](CLI::App* command, const std::shared_ptr<ReportArgs>& args,
                        int (*run)(const GlobalOptions&, const ReportArgs&)) {
    command->callback([args, run, &global, &exit_code] { exit_code = run(global, *args); });
  };

  auto ab_args = std::make_shared<ReportArgs>();
  auto* ab =
    report->add_subcommand("ab", "Each experiment's variants against its control, with intervals and p-values");
  ab->add_option("scenario", ab_args->scenario, "Only this scenario's experiments");
  ab->add_option("--outcomes", ab_args->outcomes_file,
                 "Outcomes exported elsewhere (CSV or JSON Lines: experiment,variant,customer_id,converted,revenue)");
  ab->add_option("--metric", ab_args->metric, "What counts as success")
    ->check(CLI::IsMember({"conversions", "clicks"}));
  add_format(ab, *ab_args);
  bind(ab, ab_args, run_report_ab);

  auto scenarios_args = std::make_shared<ReportArgs>();
  auto* scenarios =
    report->add_subcommand("scenarios", "Per scenario: entered, sent, suppressed by reason, converted, revenue");
  scenarios->add_option("scenario", scenarios_args->scenario, "Only this scenario");
  add_format(scenarios, *scenarios_args);
  bind(scenarios, scenarios_args, run_report_scenarios);

  auto segments_args = std::make_shared<ReportArgs>();
  auto* segments =
    report->add_subcommand("segments", "Segment sizes at month ends and the migration between two dates");
  segments->add_option("--by", segments_args->dimension, "Which segments")
    ->check(CLI::IsMember({"lifecycle", "rfm_segment", "value_tier"}));
  segments->add_option("--from", segments_args->from, "First date (default: a year before --to)");
  segments->add_option("--to", segments_args->to, "Last date (default: now)");
  add_format(segments, *segments_args);
  bind(segments, segments_args, run_report_segments);

  auto outcomes_args = std::make_shared<ReportArgs>();
  auto* outcomes = report->add_subcommand("outcomes", "The outcome log: every assignment, send, delivery, open, click, "
                                                      "unsubscribe and conversion");
  outcomes->add_option("scenario", outcomes_args->scenario, "Only this scenario");
  add_format(outcomes, *outcomes_args);
  bind(outcomes, outcomes_args, run_report_outcomes);

  auto html_args = std::make_shared<ReportArgs>();
  auto* html = report->add_subcommand("html", "The dashboard as one self-contained HTML file");
  html->add_option("-o,--output", html_args->output, "The file to write")->required();
  html->add_option("--at", html_args->to, "As of this date (default: now)");
  bind(html, html_args, run_report_html);
}

} // namespace cvmd
