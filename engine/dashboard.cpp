#include "engine/dashboard.hpp"

#include "engine/experiment_report.hpp"
#include "engine/segment_history.hpp"
#include "engine/svg_charts.hpp"
#include "engine/values.hpp"

#include <kainjow/mustache.hpp>

#include <cstdio>

namespace cvmd {

namespace {

std::string
escaped(const std::string& text)
{
  return kainjow::mustache::html_escape<std::string>(text);
}

std::string
section(const std::string& id, const std::string& title, const std::string& explanation, const std::string& body)
{
  return "<section id=\"" + id + "\"><h2>" + escaped(title) + "</h2><p class=\"why\">" + escaped(explanation) + "</p>" +
         body + "</section>\n";
}

std::string
money(double amount)
{
  char b[48];
  std::snprintf(b, sizeof b, "%.2f", amount);
  return b;
}

std::string
segments_section(const CustomerState& now)
{
  std::string body;
  for (const char* dimension : {"lifecycle", "value_tier", "rfm_segment"}) {
    const auto sizes = segment_sizes(now, dimension);
    std::vector<charts::Share> shares;
    for (std::size_t s = 0; s < sizes.segments.size(); ++s) {
      shares.push_back({sizes.segments[s], static_cast<std::size_t>(sizes.counts.back()[s]),
                        static_cast<double>(sizes.revenue_cents.back()[s]) / 100});
    }
    body += "<figure>" + charts::share_bars(std::string("Customers and revenue by ") + dimension, shares) + "</figure>";
  }
  return section("segments", "Segments", "Who the customers are today, and where the revenue comes from.", body);
}

std::string
flow_section(const CustomerState& before, const CustomerState& now)
{
  const auto moved = migration(before, now, "lifecycle");
  std::vector<std::vector<std::size_t>> matrix;
  for (const auto& row : moved.counts) {
    matrix.emplace_back(row.begin(), row.end());
  }
  const auto from = format_time(before.at()).substr(0, 10);
  const auto to = format_time(now.at()).substr(0, 10);
  return section("flow", "Lifecycle flow",
                 "How customers moved between lifecycle stages over the last 90 days ((none): not a customer yet).",
                 "<figure>" +
                   charts::flow("Lifecycle stages, " + from + " to " + to, from, to, moved.segments, matrix) +
                   "</figure>");
}

std::string
cohorts_section(const Store& store, std::int64_t at)
{
  const auto cohorts = cohort_retention(store, at);
  std::vector<std::string> rows;
  for (std::size_t c = 0; c < cohorts.months.size(); ++c) {
    rows.push_back(cohorts.months[c] + " (" + std::to_string(cohorts.sizes[c]) + ")");
  }
  std::vector<std::string> columns;
  std::size_t widest = 0;
  for (const auto& r : cohorts.retained) {
    widest = std::max(widest, r.size());
  }
  for (std::size_t k = 0; k < widest; ++k) {
    columns.push_back("+" + std::to_string(k));
  }
  auto values = cohorts.retained;
  for (auto& r : values) {
    r.resize(widest);
  }
  return section("cohorts", "Cohort retention",
                 "Customers by the month of their first order (rows, with their number): the share who ordered again "
                 "in each month after it.",
                 // The chart scales to the page's width: a few cells would otherwise be drawn huge.
                 "<figure style=\"max-width:" + std::to_string(260 + 64 * widest) + "px\">" +
                   charts::heatmap("Retention by first-order month", rows, columns, values) + "</figure>");
}

std::string
scenarios_section(const Store& store)
{
  std::string body;
  for (const auto& a : store.scenario_activity()) {
    const auto reached = [&](const char* outcome) {
      const auto found = a.reached.find(outcome);
      return static_cast<std::size_t>(found == a.reached.end() ? 0 : found->second);
    };
    std::vector<charts::Stage> stages = {{"entered", static_cast<std::size_t>(a.entered)},
                                         {"sent", reached("sent")},
                                         {"delivered", reached("delivered")},
                                         {"opened", reached("opened")},
                                         {"clicked", reached("clicked")},
                                         {"converted", static_cast<std::size_t>(a.converted)}};
    body += "<figure>" + charts::funnel(a.scenario, stages) + "<figcaption>revenue from conversions " +
            money(static_cast<double>(a.revenue_cents) / 100) + "</figcaption></figure>";
  }
  if (body.empty()) {
    body = "<p>No scenario has run on this store yet.</p>";
  }
  return section("scenarios", "Scenarios",
                 "Each scenario's funnel: customers who entered and how far they got. Converted counts every "
                 "enrollment whose goal happened, holdouts and orders without a click included.",
                 body);
}

std::string
experiments_section(const Store& store)
{
  std::string body;
  const auto results =
    analyze_experiments(experiments_from_results(store.assignment_results(""), Success::conversions));
  for (const auto& r : results) {
    std::vector<charts::Estimate> estimates;
    for (const auto& arm : r.analysis.arms) {
      charts::Estimate e;
      e.label = arm.name;
      e.value = arm.rate.value_or(0);
      if (arm.rate_interval) {
        e.low = arm.rate_interval->low;
        e.high = arm.rate_interval->high;
      }
      e.is_control = arm.is_control;
      if (!arm.rate) {
        e.note = "no recipients yet";
      } else if (arm.probability_to_beat_control) {
        char b[64];
        std::snprintf(b, sizeof b, "P(beats control) %.1f%%", *arm.probability_to_beat_control * 100);
        e.note = b;
      }
      estimates.push_back(std::move(e));
    }
    body += "<figure>" + charts::interval_bars(r.data.scenario + " / " + r.data.experiment + ": conversion", estimates);
    if (!r.analysis.warnings.empty()) {
      body += "<ul class=\"notes\">";
      for (const auto& w : r.analysis.warnings) {
        body += "<li>" + escaped(w) + "</li>";
      }
      body += "</ul>";
    }
    body += "</figure>";
  }
  if (body.empty()) {
    body = "<p>No experiment has assigned anyone yet.</p>";
  }
  return section("experiments", "Experiments",
                 "Each variant's conversion rate with its 95% interval; the dashed line is the control.", body);
}

const char* const style = R"css(
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d1e0}main{max-width:1100px;margin:0 auto;padding:8px 20px 40px}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:18px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin:0 0 4px;font-size:18px}.why{margin:0 0 12px;color:#556}figure{margin:12px 0}
figcaption{color:#556;font-size:13px}.notes{color:#7a4b00;font-size:13px;margin:6px 0 0}
svg{max-width:100%;height:auto}
)css";

} // namespace

std::string
dashboard_page(const Store& store, const MetricsConfig& metrics, std::int64_t at)
{
  const auto date = format_time(at).substr(0, 10);
  std::string page = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<link rel=\"icon\" href=\"data:,\">"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"" +
                     std::string(dashboard_content_policy) + "\"><title>cvmd dashboard, " + date + "</title><style>" +
                     style + "</style></head><body>\n";
  page += "<header><h1>Customer value dashboard</h1><p>As of " + date + " &middot; " +
          std::to_string(store.customer_count()) + " customers, " + std::to_string(store.order_count()) +
          " orders</p></header><main>\n";
  // Two snapshots serve the segments and the flow: building one is most of the page's cost.
  const auto now = segment_snapshot(store, metrics, at);
  page += segments_section(now);
  page += flow_section(segment_snapshot(store, metrics, at - 90 * 86400), now);
  page += cohorts_section(store, at);
  page += scenarios_section(store);
  page += experiments_section(store);
  page += "</main></body></html>\n";
  return page;
}

} // namespace cvmd
