#pragma once
// Charts for the HTML dashboard, each one inline <svg> (the page makes no outside requests
// and needs no JavaScript to draw them). Pure functions: the same data give the same bytes.
// Every chart has a <title>, a <desc> saying what the data show in words, a legend or axis
// labels and its values printed by the marks; it is found in the page by
// data-chart="share_bars|flow|heatmap|funnel|interval_bars". Labels are untrusted (they come
// from users' files) and are escaped; long ones are shortened with the full text in a
// tooltip. No input at all gives a chart saying "no data yet".

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace cvmd::charts {

struct Share
{
  std::string label;    // a segment: a lifecycle stage, a value tier
  std::size_t size = 0; // customers
  double revenue = 0;   // negative or non-finite counts as 0
};

// Two 100% stacked bars, customers and revenue, with each segment's share.
std::string share_bars(const std::string& title, const std::vector<Share>& shares);

// Customers moving between lifecycle stages from one date to another, as a two-column
// Sankey diagram. matrix[i][j]: customers in stages[i] at the first date and stages[j] at
// the second; cells the matrix lacks count as 0.
std::string flow(const std::string& title, const std::string& from_label, const std::string& to_label,
                 const std::vector<std::string>& stages, const std::vector<std::vector<std::size_t>>& matrix);

// Cohort retention: rows are first-order month cohorts, columns months since the first order,
// values 0..1 (clamped; nullopt or NaN leaves the cell empty). The labels give the size: values
// beyond them are ignored, values missing are empty cells.
std::string heatmap(const std::string& title, const std::vector<std::string>& row_labels,
                    const std::vector<std::string>& column_labels,
                    const std::vector<std::vector<std::optional<double>>>& values);

struct Stage
{
  std::string label;
  std::size_t count = 0;
};

// A message funnel (entered, sent, delivered, opened, clicked, converted): one bar per stage
// with its count and its share of the first stage and of the previous one.
std::string funnel(const std::string& title, const std::vector<Stage>& stages);

struct Estimate
{
  std::string label;         // a variant, or the control group
  double value = 0;          // conversion rate, 0..1
  std::optional<double> low; // the 95% interval, when both ends are known
  std::optional<double> high;
  bool is_control = false;
  std::string note; // shown beside the value, e.g. "no recipients yet"
};

// Conversion rate per variant: a dot for the rate and a whisker for its 95% interval on a
// shared axis, the control highlighted with a dashed reference line at its rate.
std::string interval_bars(const std::string& title, const std::vector<Estimate>& estimates);

} // namespace cvmd::charts
