#include "engine/svg_charts.hpp"

#include "engine/svg_markup.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace cvmd::charts {

using svg::Canvas;
using svg::count;
using svg::number;
using svg::percent;
using svg::ratio;

namespace {

// Position and size of a rect; a size is never negative.
std::string
box(double x, double y, double width, double height)
{
  return "x=\"" + number(x) + "\" y=\"" + number(y) + "\" width=\"" + number(std::max(width, 0.0)) + "\" height=\"" +
         number(std::max(height, 0.0)) + "\"";
}

std::string
tooltip(const std::string& text)
{
  return "<title>" + svg::escape(text) + "</title>";
}

double
non_negative(double value)
{
  return std::isfinite(value) && value > 0 ? value : 0;
}

std::optional<double>
rate(double value)
{
  return std::isfinite(value) ? std::optional(std::clamp(value, 0.0, 1.0)) : std::nullopt;
}

} // namespace

std::string
share_bars(const std::string& title, const std::vector<Share>& shares)
{
  if (shares.empty()) {
    return svg::empty_chart("share_bars", title);
  }
  constexpr double bar_x = 100, bar_width = 600, bar_height = 28;
  std::size_t customers = 0;
  double revenue = 0;
  for (const auto& s : shares) {
    customers += s.size;
    revenue += non_negative(s.revenue);
  }
  const auto share_of = [&](const Share& s, bool of_revenue) {
    return of_revenue ? ratio(non_negative(s.revenue), revenue)
                      : ratio(static_cast<double>(s.size), static_cast<double>(customers));
  };

  Canvas canvas("share_bars", title, 720);
  for (const bool of_revenue : {false, true}) {
    const double y = of_revenue ? 84 : 44, middle = y + bar_height / 2 + 4;
    const std::string name = of_revenue ? "revenue" : "customers";
    canvas.text(bar_x - 8, middle, name, "text-anchor=\"end\"");
    if (!(of_revenue ? revenue > 0 : customers > 0)) {
      canvas << "<rect " + box(bar_x, y, bar_width, bar_height) + " fill=\"none\" stroke=\"#767676\"/>\n";
      canvas.text(bar_x + bar_width / 2, middle, "no " + name, "text-anchor=\"middle\" fill=\"#555555\"");
      continue;
    }
    canvas << "<g data-part=\"" + name + "\" stroke=\"#ffffff\">\n";
    double x = bar_x;
    for (std::size_t i = 0; i < shares.size(); ++i) {
      const double share = share_of(shares[i], of_revenue), width = share * bar_width;
      if (width <= 0) {
        continue;
      }
      const std::string fill = svg::category_colour(i);
      canvas << "<rect " + box(x, y, width, bar_height) + " fill=\"" + fill + "\">" +
                  tooltip(shares[i].label + ": " + percent(share) + " of " + name) + "</rect>\n";
      // Tiny shares are named in the legend only; others get the label and the share when
      // both fit, else the share alone.
      if (share >= 0.03) {
        for (const auto& candidate : {svg::shorten(shares[i].label, 24) + " " + percent(share), percent(share)}) {
          if (svg::text_width(candidate, 11) <= width - 6) {
            canvas.text(x + width / 2, middle, candidate,
                        "text-anchor=\"middle\" font-size=\"11\" stroke=\"none\" fill=\"" +
                          std::string(svg::text_colour_on(fill)) + "\"");
            break;
          }
        }
      }
      x += width;
    }
    canvas << "</g>\n";
  }

  std::string description = "Share of customers (" + count(customers) + " in all) and of revenue by segment: ";
  double y = 140;
  for (std::size_t i = 0; i < shares.size(); ++i, y += 20) {
    const auto& s = shares[i];
    const auto of_customers = percent(share_of(s, false)), of_revenue = percent(share_of(s, true));
    canvas << "<rect " + box(bar_x, y - 10, 12, 12) + " fill=\"" + svg::category_colour(i) + "\"/>\n";
    canvas.label(bar_x + 18, y, s.label, 36);
    canvas.text(bar_x + 290, y, of_customers + " of customers · " + of_revenue + " of revenue", "fill=\"#333333\"");
    description += (i > 0 ? "; " : "") + s.label + ": " + count(s.size) + " customers (" + of_customers + "), " +
                   of_revenue + " of revenue";
  }
  return canvas.finish(y, description + ".");
}

std::string
flow(const std::string& title, const std::string& from_label, const std::string& to_label,
     const std::vector<std::string>& stages, const std::vector<std::vector<std::size_t>>& matrix)
{
  const std::size_t n = stages.size();
  if (n == 0) {
    return svg::empty_chart("flow", title);
  }
  const auto cell = [&](std::size_t i, std::size_t j) -> std::size_t {
    return i < matrix.size() && j < matrix[i].size() ? matrix[i][j] : 0;
  };
  std::vector<std::size_t> out(n, 0), in(n, 0);
  std::size_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      out[i] += cell(i, j);
      in[j] += cell(i, j);
      total += cell(i, j);
    }
  }

  constexpr double width = 760, left_x = 200, node_width = 14, right_x = width - left_x - node_width, top = 64,
                   gap = 10, min_slot = 16;
  const double plot = std::max(160.0, 36.0 * static_cast<double>(n));
  const double scale = ratio(plot - gap * static_cast<double>(n - 1), static_cast<double>(total)); // px per customer
  // Every node gets at least a label's height, so that small stages' labels do not overlap.
  const auto place = [&](const std::vector<std::size_t>& totals, std::vector<double>& node_top) {
    double y = top;
    for (std::size_t i = 0; i < n; ++i) {
      const double height = static_cast<double>(totals[i]) * scale, slot = std::max(height, min_slot);
      node_top[i] = y + (slot - height) / 2;
      y += slot + gap;
    }
    return y - gap;
  };
  std::vector<double> left_top(n), right_top(n);
  const double bottom = std::max(place(out, left_top), place(in, right_top));

  Canvas canvas("flow", title, width);
  canvas.label(left_x + node_width / 2, 48, from_label, 30, "text-anchor=\"middle\" font-weight=\"bold\"");
  canvas.label(right_x + node_width / 2, 48, to_label, 30, "text-anchor=\"middle\" font-weight=\"bold\"");

  struct Move
  {
    std::size_t from, to, customers;
  };
  std::vector<Move> moves;
  std::vector<double> out_offset(n, 0), in_offset(n, 0);
  const double x0 = left_x + node_width, x1 = right_x, middle = (x0 + x1) / 2;
  canvas << "<g data-part=\"ribbons\" fill=\"none\" stroke-opacity=\"0.45\">\n";
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const auto customers = cell(i, j);
      if (customers == 0) {
        continue;
      }
      const double w = static_cast<double>(customers) * scale;
      const double y0 = left_top[i] + out_offset[i] + w / 2, y1 = right_top[j] + in_offset[j] + w / 2;
      out_offset[i] += w;
      in_offset[j] += w;
      // At least a pixel wide, so that a handful of customers still shows.
      canvas << "<path d=\"M" + number(x0) + " " + number(y0) + " C" + number(middle) + " " + number(y0) + " " +
                  number(middle) + " " + number(y1) + " " + number(x1) + " " + number(y1) + "\" stroke=\"" +
                  svg::category_colour(i) + "\" stroke-width=\"" + number(std::max(w, 1.0)) + "\">" +
                  tooltip(stages[i] + " → " + stages[j] + ": " + count(customers)) + "</path>\n";
      if (i != j) {
        moves.push_back({i, j, customers});
      }
    }
  }
  canvas << "</g>\n<g data-part=\"nodes\">\n";
  for (std::size_t i = 0; i < n; ++i) {
    const double left_height = static_cast<double>(out[i]) * scale, right_height = static_cast<double>(in[i]) * scale;
    canvas << "<rect " + box(left_x, left_top[i], node_width, left_height) + " fill=\"" + svg::category_colour(i) +
                "\">" + tooltip(stages[i] + " on " + from_label + ": " + count(out[i])) + "</rect>\n";
    canvas << "<rect " + box(right_x, right_top[i], node_width, right_height) + " fill=\"" + svg::category_colour(i) +
                "\">" + tooltip(stages[i] + " on " + to_label + ": " + count(in[i])) + "</rect>\n";
  }
  canvas << "</g>\n";
  for (std::size_t i = 0; i < n; ++i) {
    const double left_middle = left_top[i] + static_cast<double>(out[i]) * scale / 2 + 4;
    const double right_middle = right_top[i] + static_cast<double>(in[i]) * scale / 2 + 4;
    canvas.text(left_x - 6, left_middle, svg::shorten(stages[i], 22) + " " + count(out[i]), "text-anchor=\"end\"");
    canvas.text(right_x + node_width + 6, right_middle, count(in[i]) + " " + svg::shorten(stages[i], 22));
  }
  if (total == 0) {
    canvas.text(width / 2, (top + bottom) / 2 + 4, "no customers at either date",
                "text-anchor=\"middle\" fill=\"#555555\"");
  }

  std::string description = count(total) + " customers by stage on " + from_label + " and on " + to_label + ".";
  std::string stayed;
  for (std::size_t i = 0; i < n; ++i) {
    if (cell(i, i) > 0) {
      stayed += (stayed.empty() ? " Stayed: " : ", ") + stages[i] + " " + count(cell(i, i));
    }
  }
  description += stayed.empty() ? "" : stayed + ".";
  std::stable_sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) { return a.customers > b.customers; });
  constexpr std::size_t described = 8;
  for (std::size_t k = 0; k < std::min(moves.size(), described); ++k) {
    description += (k == 0 ? " Moved: " : ", ") + stages[moves[k].from] + " → " + stages[moves[k].to] + " " +
                   count(moves[k].customers);
  }
  if (moves.size() > described) {
    description += " and " + std::to_string(moves.size() - described) + " smaller moves";
  }
  description += moves.empty() ? "" : ".";
  return canvas.finish(bottom + 16, description);
}

std::string
heatmap(const std::string& title, const std::vector<std::string>& row_labels,
        const std::vector<std::string>& column_labels, const std::vector<std::vector<std::optional<double>>>& values)
{
  const std::size_t rows = row_labels.size(), columns = column_labels.size();
  if (rows == 0 || columns == 0) {
    return svg::empty_chart("heatmap", title);
  }
  const auto value = [&](std::size_t r, std::size_t c) -> std::optional<double> {
    if (r < values.size() && c < values[r].size() && values[r][c]) {
      return rate(*values[r][c]);
    }
    return std::nullopt;
  };
  constexpr double left = 110, top = 66, cell_width = 36, cell_height = 22;
  const double width = std::max(left + static_cast<double>(columns) * cell_width + 16, 420.0);

  Canvas canvas("heatmap", title, width);
  canvas.text(left, 44, "months since the first order", "fill=\"#555555\" font-size=\"11\"");
  canvas.text(left - 8, top - 8, "first order", "text-anchor=\"end\" fill=\"#555555\" font-size=\"11\"");
  for (std::size_t c = 0; c < columns; ++c) {
    canvas.label(left + (static_cast<double>(c) + 0.5) * cell_width, top - 8, column_labels[c], 5,
                 "text-anchor=\"middle\" font-size=\"11\"");
  }
  std::string cells = "<g data-part=\"cells\">\n",
              texts = "<g data-part=\"values\" font-size=\"10\" text-anchor=\"middle\">\n";
  std::size_t filled = 0;
  double lowest = 1, highest = 0;
  std::vector<double> column_sum(columns, 0);
  std::vector<std::size_t> column_count(columns, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    const double y = top + static_cast<double>(r) * cell_height;
    canvas.label(left - 8, y + cell_height / 2 + 4, row_labels[r], 14, "text-anchor=\"end\" font-size=\"11\"");
    for (std::size_t c = 0; c < columns; ++c) {
      const auto v = value(r, c);
      if (!v) {
        continue;
      }
      const double x = left + static_cast<double>(c) * cell_width;
      const auto fill = svg::sequential_colour(*v);
      cells += "<rect " + box(x, y, cell_width - 1, cell_height - 1) + " fill=\"" + fill + "\">" +
               tooltip(row_labels[r] + ", " + column_labels[c] + ": " + percent(*v)) + "</rect>\n";
      texts += "<text x=\"" + number(x + cell_width / 2) + "\" y=\"" + number(y + cell_height / 2 + 3) + "\" fill=\"" +
               svg::text_colour_on(fill) + "\">" + percent(*v, 0) + "</text>\n";
      ++filled;
      lowest = std::min(lowest, *v);
      highest = std::max(highest, *v);
      column_sum[c] += *v;
      ++column_count[c];
    }
  }
  canvas << cells + "</g>\n" + texts + "</g>\n";

  // A stepped legend rather than a gradient: no ids to keep unique across the page.
  const double legend_y = top + static_cast<double>(rows) * cell_height + 14;
  canvas.text(left - 8, legend_y + 10, "0%", "text-anchor=\"end\" font-size=\"11\"");
  for (int step = 0; step <= 10; ++step) {
    canvas << "<rect " + box(left + step * 20, legend_y, 20, 12) + " fill=\"" + svg::sequential_colour(step / 10.0) +
                "\"/>\n";
  }
  canvas.text(left + 226, legend_y + 10, "100%", "font-size=\"11\"");
  canvas.text(left, legend_y + 30, "colour: share of the cohort buying in that month",
              "fill=\"#555555\" font-size=\"11\"");

  std::string description =
    std::to_string(rows) + " first-order cohorts by " + std::to_string(columns) + " months since the first order; ";
  if (filled == 0) {
    description += "no values yet.";
  } else {
    description += std::to_string(filled) + " cells with values from " + percent(lowest) + " to " + percent(highest) +
                   ". Mean by month since the first order:";
    for (std::size_t c = 0, said = 0; c < columns; ++c) {
      if (column_count[c] > 0) {
        description += (said++ > 0 ? ", " : " ") + column_labels[c] + " " +
                       percent(column_sum[c] / static_cast<double>(column_count[c]));
      }
    }
    description += ".";
  }
  return canvas.finish(legend_y + 40, description);
}

std::string
funnel(const std::string& title, const std::vector<Stage>& stages)
{
  if (stages.empty()) {
    return svg::empty_chart("funnel", title);
  }
  constexpr double width = 800, bar_x = 160, bar_max = 300, top = 44, row = 34, bar_height = 22;
  std::size_t largest = 0;
  for (const auto& s : stages) {
    largest = std::max(largest, s.count);
  }
  const double first = static_cast<double>(stages.front().count);

  Canvas canvas("funnel", title, width);
  std::string bars = "<g data-part=\"bars\" fill=\"#0072B2\">\n", description;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    const double y = top + static_cast<double>(i) * row, middle = y + bar_height / 2 + 4;
    const double w = ratio(static_cast<double>(s.count), static_cast<double>(largest)) * bar_max;
    canvas.label(bar_x - 10, middle, s.label, 20, "text-anchor=\"end\"");
    bars += "<rect " + box(bar_x, y, w, bar_height) + ">" + tooltip(s.label + ": " + count(s.count)) + "</rect>\n";
    std::string figures = count(s.count), said = s.label + " " + count(s.count);
    if (i > 0) {
      // A share of nothing is left out rather than printed as 0% or infinity.
      const double previous = static_cast<double>(stages[i - 1].count), here = static_cast<double>(s.count);
      std::string of_first, of_previous;
      if (first > 0) {
        of_first = percent(here / first);
        figures += " · " + of_first + " of first";
      }
      if (previous > 0) {
        of_previous = percent(here / previous);
        figures += " · " + of_previous + " of previous";
      }
      if (i == 1 && !of_first.empty()) {
        of_previous.clear(); // the first stage is the previous one: said once
      }
      if (!of_first.empty() || !of_previous.empty()) {
        said += " (" + (of_first.empty() ? "" : of_first + " of " + stages.front().label) +
                (of_first.empty() || of_previous.empty() ? "" : ", ") +
                (of_previous.empty() ? "" : of_previous + " of " + stages[i - 1].label) + ")";
      }
    }
    canvas.text(bar_x + w + 8, middle, figures);
    description += (i > 0 ? "; " : "") + said;
  }
  canvas << bars + "</g>\n";
  return canvas.finish(top + static_cast<double>(stages.size()) * row + 4, description + ".");
}

std::string
interval_bars(const std::string& title, const std::vector<Estimate>& estimates)
{
  if (estimates.empty()) {
    return svg::empty_chart("interval_bars", title);
  }
  constexpr double width = 760, label_x = 170, plot_x = 180, plot_width = 340, value_x = 532, top = 52, row = 32;
  struct Arm
  {
    std::optional<double> value;
    std::optional<std::pair<double, double>> interval;
  };
  std::vector<Arm> arms;
  double largest = 0;
  for (const auto& e : estimates) {
    Arm arm{rate(e.value), std::nullopt};
    if (e.low && e.high && rate(*e.low) && rate(*e.high)) {
      const double a = *rate(*e.low), b = *rate(*e.high);
      arm.interval = std::pair(std::min(a, b), std::max(a, b));
      largest = std::max(largest, arm.interval->second);
    }
    largest = std::max(largest, arm.value.value_or(0));
    arms.push_back(arm);
  }
  // About five ticks at 1, 2 or 5 times a power of ten; the axis spans at least 0..1%.
  const double raw = std::max(largest, 0.01) / 5, magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude * 10;
  for (const double m : {1.0, 2.0, 5.0}) {
    if (m * magnitude >= raw * (1 - 1e-9)) {
      step = m * magnitude;
      break;
    }
  }
  const int ticks = std::max(1, static_cast<int>(std::ceil(largest / step - 1e-9)));
  const double axis_max = ticks * step;
  const int tick_decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step * 100) + 1e-9)), 0, 3);
  const int decimals = axis_max <= 0.02 ? 2 : 1;
  const auto x_of = [&](double v) { return plot_x + ratio(v, axis_max) * plot_width; };
  const double axis_y = top + static_cast<double>(estimates.size()) * row;

  Canvas canvas("interval_bars", title, width);
  canvas << "<g data-part=\"axis\" stroke=\"#d9d9d9\">\n";
  for (int t = 0; t <= ticks; ++t) {
    const auto x = number(x_of(t * step));
    canvas << "<line x1=\"" + x + "\" y1=\"" + number(top - 4) + "\" x2=\"" + x + "\" y2=\"" + number(axis_y) +
                "\"/>\n";
  }
  canvas << "<line x1=\"" + number(plot_x) + "\" y1=\"" + number(axis_y) + "\" x2=\"" + number(plot_x + plot_width) +
              "\" y2=\"" + number(axis_y) + "\" stroke=\"#767676\"/>\n</g>\n";
  for (int t = 0; t <= ticks; ++t) {
    canvas.text(x_of(t * step), axis_y + 16, percent(t * step, tick_decimals),
                "text-anchor=\"middle\" font-size=\"11\" fill=\"#444444\"");
  }
  canvas.text(plot_x + plot_width / 2, axis_y + 34, "conversion rate (dot) and its 95% interval (whisker)",
              "text-anchor=\"middle\" font-size=\"11\" fill=\"#555555\"");

  const auto control = std::find_if(estimates.begin(), estimates.end(), [](const Estimate& e) { return e.is_control; });
  if (control != estimates.end() && arms[static_cast<std::size_t>(control - estimates.begin())].value) {
    const double v = *arms[static_cast<std::size_t>(control - estimates.begin())].value;
    const auto x = number(x_of(v));
    canvas << "<line data-part=\"reference\" x1=\"" + x + "\" y1=\"" + number(top - 8) + "\" x2=\"" + x + "\" y2=\"" +
                number(axis_y) + "\" stroke=\"#000000\" stroke-dasharray=\"4 3\"/>\n";
    canvas.text(x_of(v), top - 12, "control " + percent(v, decimals), "text-anchor=\"middle\" font-size=\"10\"");
  }

  std::string whiskers = "<g data-part=\"whiskers\" fill=\"none\" stroke-width=\"2\">\n",
              dots = "<g data-part=\"dots\" stroke=\"#ffffff\">\n", description;
  for (std::size_t i = 0; i < estimates.size(); ++i) {
    const auto& e = estimates[i];
    const auto& arm = arms[i];
    const double y = top + (static_cast<double>(i) + 0.5) * row;
    const std::string colour = e.is_control ? "#000000" : "#0072B2";
    canvas.label(label_x, e.is_control ? y : y + 4, e.label, 22,
                 e.is_control ? "text-anchor=\"end\" font-weight=\"bold\"" : "text-anchor=\"end\"");
    if (e.is_control) {
      canvas.text(label_x, y + 12, "control", "text-anchor=\"end\" font-size=\"10\" fill=\"#555555\"");
    }
    std::string figures = arm.value ? percent(*arm.value, decimals) : "no estimate";
    std::string said = e.label + (e.is_control ? " (control) " : " ") + figures;
    if (arm.interval) {
      const auto low = number(x_of(arm.interval->first)), high = number(x_of(arm.interval->second));
      const auto from = percent(arm.interval->first, decimals), to = percent(arm.interval->second, decimals);
      whiskers += "<path d=\"M" + low + " " + number(y) + " H" + high + " M" + low + " " + number(y - 5) + " V" +
                  number(y + 5) + " M" + high + " " + number(y - 5) + " V" + number(y + 5) + "\" stroke=\"" + colour +
                  "\">" + tooltip(e.label + ": 95% interval " + from + " to " + to) + "</path>\n";
      figures += " (" + from + "–" + to + ")";
      said += ", 95% interval " + from + " to " + to;
    }
    if (arm.value) {
      dots += "<circle cx=\"" + number(x_of(*arm.value)) + "\" cy=\"" + number(y) + "\" r=\"5\" fill=\"" + colour +
              "\">" + tooltip(e.label + ": " + figures) + "</circle>\n";
    }
    if (!e.note.empty()) {
      figures += " · " + e.note;
      said += ", " + e.note;
    }
    canvas.label(value_x, y + 4, figures, 36, e.is_control ? "font-weight=\"bold\"" : "");
    description += (i > 0 ? "; " : "") + said;
  }
  canvas << whiskers + "</g>\n" + dots + "</g>\n";
  return canvas.finish(axis_y + 44, "Conversion rate by variant: " + description + ".");
}

} // namespace cvmd::charts
