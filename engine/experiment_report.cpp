#include "engine/experiment_report.hpp"

#include "engine/records.hpp"
#include "engine/values.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace cvmd {

namespace {

// One arm's recipients as they are added up: the weights are 1/probability of the
// assignment (Hajek's estimator), which for a fixed split are all the same and change
// nothing.
struct ArmSums
{
  double recipients = 0;
  double weights = 0;
  double weights_squared = 0;
  double successes = 0; // weighted
  double revenue = 0;   // weighted
  double revenue_squares = 0;
  double first_weight = 0;
  bool unequal_weights = false;
  // Unweighted, exactly: what an experiment with fixed weights reports.
  double raw_successes = 0;
  double raw_revenue = 0;
  double raw_revenue_squares = 0;

  void add(double probability, bool success, double revenue_value)
  {
    const double w = probability > 0 ? 1 / probability : 1;
    if (recipients == 0) {
      first_weight = w;
    } else if (std::abs(w - first_weight) > 1e-12 * first_weight) {
      unequal_weights = true;
    }
    recipients += 1;
    weights += w;
    weights_squared += w * w;
    successes += success ? w : 0;
    revenue += w * revenue_value;
    revenue_squares += w * revenue_value * revenue_value;
    raw_successes += success ? 1 : 0;
    raw_revenue += revenue_value;
    raw_revenue_squares += revenue_value * revenue_value;
  }

  // Unequal weights make an estimate as uncertain as fewer equal draws would: the
  // statistics see Kish's effective size (sum w)^2 / sum w^2, the weighted rate and means
  // kept, so that intervals and tests widen as they should.
  double effective() const { return weights_squared > 0 ? weights * weights / weights_squared : 0; }

  stats::ArmInput input(const std::string& name) const
  {
    const double n = effective();
    const double scale = weights > 0 ? n / weights : 0;
    stats::ArmInput a;
    a.name = name;
    a.recipients = n;
    a.conversions = successes * scale;
    a.revenue = {n, revenue * scale, revenue_squares * scale};
    return a;
  }
};

bool
is_control_name(const std::string& experiment, const std::string& variant)
{
  return experiment == "holdout" ? variant == "holdout" : variant == "control";
}

ExperimentData
finish(std::string scenario, std::string experiment, Success metric, bool running,
       const std::vector<std::pair<std::string, ArmSums>>& arms)
{
  ExperimentData data;
  data.scenario = std::move(scenario);
  data.experiment = std::move(experiment);
  data.metric = metric;
  data.still_running = running;
  for (const auto& [name, sums] : arms) {
    data.weighted = data.weighted || sums.unequal_weights;
  }
  // Weighted or not as a whole: mixing the two would compare different estimators.
  for (const auto& [name, sums] : arms) {
    auto input = sums.input(name);
    if (!data.weighted) {
      input.conversions = sums.raw_successes;
      input.revenue = {sums.recipients, sums.raw_revenue, sums.raw_revenue_squares};
    }
    if (!data.has_control && is_control_name(data.experiment, name)) {
      data.has_control = true;
      data.arms.insert(data.arms.begin(), std::move(input));
      data.recipients.insert(data.recipients.begin(), sums.recipients);
      data.successes.insert(data.successes.begin(), sums.raw_successes);
    } else {
      data.arms.push_back(std::move(input));
      data.recipients.push_back(sums.recipients);
      data.successes.push_back(sums.raw_successes);
    }
  }
  return data;
}

std::string
percent(std::optional<double> v, int decimals = 2)
{
  if (!v) {
    return "-";
  }
  char b[32];
  std::snprintf(b, sizeof b, "%.*f%%", decimals, *v * 100);
  return b;
}

std::string
interval_text(const std::optional<stats::Interval>& i, double scale, const char* unit, bool sign)
{
  if (!i) {
    return "-";
  }
  char b[64];
  std::snprintf(b, sizeof b, sign ? "[%+.2f%s, %+.2f%s]" : "[%.2f%s, %.2f%s]", i->low * scale, unit, i->high * scale,
                unit);
  return b;
}

std::string
signed_number(std::optional<double> v, double scale, const char* unit)
{
  if (!v) {
    return "-";
  }
  char b[32];
  std::snprintf(b, sizeof b, "%+.2f%s", *v * scale, unit);
  return b;
}

std::string
p_value_text(std::optional<double> p)
{
  if (!p) {
    return "-";
  }
  if (*p < 0.0001) {
    return "<0.0001";
  }
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", *p);
  return b;
}

std::string
count_text(double v)
{
  char b[32];
  if (std::abs(v - std::round(v)) < 1e-9) {
    std::snprintf(b, sizeof b, "%.0f", v);
  } else {
    std::snprintf(b, sizeof b, "%.1f", v);
  }
  return b;
}

boost::json::value
number_or_null(std::optional<double> v)
{
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

const char*
metric_name(Success m)
{
  return m == Success::clicks ? "clicks" : "conversions";
}

} // namespace

std::vector<ExperimentData>
experiments_from_results(const std::vector<AssignmentResult>& results, Success metric)
{
  // scenario, experiment -> variant -> sums; variants listed by name for a stable order.
  std::map<std::pair<std::string, std::string>, std::map<std::string, ArmSums>> by;
  std::set<std::pair<std::string, std::string>> running;
  for (const auto& r : results) {
    const auto key = std::pair{r.scenario, r.experiment};
    const bool success = metric == Success::clicks ? r.clicked : r.converted;
    by[key][r.variant].add(r.probability, success, static_cast<double>(r.revenue_cents) / 100);
    if (r.active) {
      running.insert(key);
    }
  }
  std::vector<ExperimentData> out;
  for (const auto& [key, variants] : by) {
    std::vector<std::pair<std::string, ArmSums>> arms(variants.begin(), variants.end());
    out.push_back(finish(key.first, key.second, metric, running.count(key) > 0, arms));
  }
  return out;
}

Result<std::vector<ExperimentData>>
experiments_from_file(const std::string& path)
{
  struct Experiment
  {
    std::vector<std::pair<std::string, ArmSums>> arms; // in the order they first appear
    std::map<std::string, std::size_t> seen;           // customer -> line
  };
  std::vector<std::pair<std::string, Experiment>> experiments;
  std::vector<std::string> problems;
  RecordSource source;
  source.path = path;
  source.on_problem = [&](std::size_t line, const std::string& problem) {
    problems.push_back(path + ":" + std::to_string(line) + ": " + problem);
  };
  static const char* const required[] = {"experiment", "variant", "customer_id", "converted"};
  source.on_header = [&](const std::vector<std::string>& names) {
    for (const char* name : required) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        problems.push_back(path + ":1: the header has no column '" + name +
                           "' (experiment,variant,customer_id,converted[,revenue])");
      }
    }
  };
  source.on_record = [&](const Record& r) {
    const auto bad = [&](const std::string& reason) {
      problems.push_back(path + ":" + std::to_string(r.line) + ": " + reason);
    };
    for (const char* name : required) {
      if (!r.find(name) || r.find(name)->empty()) {
        return bad(std::string("missing ") + name);
      }
    }
    for (const char* name : {"experiment", "variant", "customer_id", "revenue"}) {
      if (r.is_structured(name)) {
        return bad(std::string(name) + " must be a text, not an object, a list or a boolean");
      }
    }
    const auto converted = parse_bool(*r.find("converted"));
    if (!converted) {
      return bad("converted: " + converted.error());
    }
    std::int64_t cents = 0;
    if (const auto* revenue = r.find("revenue"); revenue && !revenue->empty()) {
      auto parsed = parse_amount(*revenue);
      if (!parsed) {
        return bad("revenue: " + parsed.error());
      }
      cents = *parsed;
    }
    const auto& name = *r.find("experiment");
    auto found = std::find_if(experiments.begin(), experiments.end(), [&](const auto& e) { return e.first == name; });
    if (found == experiments.end()) {
      found = experiments.insert(experiments.end(), {name, {}});
    }
    auto& e = found->second;
    const auto& customer = *r.find("customer_id");
    if (const auto [at, added] = e.seen.emplace(customer, r.line); !added) {
      return bad("customer " + customer + " appears twice in experiment " + name + " (first on line " +
                 std::to_string(at->second) + ")");
    }
    const auto& variant = *r.find("variant");
    auto arm = std::find_if(e.arms.begin(), e.arms.end(), [&](const auto& a) { return a.first == variant; });
    if (arm == e.arms.end()) {
      arm = e.arms.insert(e.arms.end(), {variant, {}});
    }
    arm->second.add(1, *converted, static_cast<double>(cents) / 100);
  };
  auto read = read_records(source);
  if (!read) {
    return Result<std::vector<ExperimentData>>::failure(read.error());
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) {
      all += (all.empty() ? "" : "\n") + p;
    }
    return Result<std::vector<ExperimentData>>::failure(all);
  }
  std::vector<ExperimentData> out;
  for (const auto& [name, e] : experiments) {
    out.push_back(finish("", name, Success::conversions, false, e.arms));
  }
  return out;
}

std::vector<ExperimentResult>
analyze_experiments(const std::vector<ExperimentData>& experiments)
{
  std::vector<ExperimentResult> out;
  for (const auto& data : experiments) {
    ExperimentResult r;
    r.data = data;
    r.analysis = stats::analyze(data.arms, data.still_running, data.has_control, metric_name(data.metric));
    if (data.weighted) {
      r.analysis.warnings.push_back(
        "assignments were adaptive (optimized split): rates are weighted by the inverse of each assignment's "
        "probability, so that early winners do not look better than they are");
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string
render_experiments(const std::vector<ExperimentResult>& results, const std::string& format)
{
  if (format == "table") {
    if (results.empty()) {
      return "no experiments yet: no split or holdout has assigned anyone\n";
    }
    std::string out;
    for (const auto& r : results) {
      double assigned = 0;
      for (const auto n : r.data.recipients) {
        assigned += n;
      }
      out += (out.empty() ? "" : "\n") + (r.data.scenario.empty() ? "" : r.data.scenario + " / ") + r.data.experiment +
             ": " + metric_name(r.data.metric) + ", " + count_text(assigned) + " assigned" +
             (r.data.still_running ? ", still running" : "") + "\n";
      Table t;
      t.columns = {"variant",
                   "recipients",
                   r.data.metric == Success::clicks ? "clicked" : "converted",
                   "rate",
                   "95% interval",
                   "uplift",
                   "95% interval",
                   "relative",
                   "95% interval",
                   "p-value",
                   "P(beats control)",
                   "P(best)",
                   "revenue/recipient",
                   "difference 95%"};
      for (std::size_t k = 0; k < r.analysis.arms.size(); ++k) {
        const auto& a = r.analysis.arms[k];
        const auto text = [](const std::string& s) { return boost::json::value(s); };
        const auto recipients = count_text(r.data.recipients[k]) +
                                (r.data.weighted ? " (effective " + count_text(std::round(a.recipients)) + ")" : "");
        t.rows.push_back(
          {text(a.name + (a.is_control ? " (control)" : "")), text(recipients), text(count_text(r.data.successes[k])),
           text(percent(a.rate)), text(interval_text(a.rate_interval, 100, "%", false)),
           text(signed_number(a.uplift_absolute, 100, " pp")),
           text(interval_text(a.uplift_absolute_interval, 100, "", true)),
           text(signed_number(a.uplift_relative, 100, "%")),
           text(interval_text(a.uplift_relative_interval, 100, "%", true)), text(p_value_text(a.p_value)),
           text(percent(a.probability_to_beat_control, 1)), text(percent(a.probability_best, 1)),
           text(a.revenue_per_recipient ? count_text(std::round(*a.revenue_per_recipient * 100) / 100) : "-"),
           text(interval_text(a.revenue_difference_interval, 1, "", true))});
      }
      out += t.render("table");
      for (const auto& w : r.analysis.warnings) {
        out += "  note: " + w + "\n";
      }
    }
    return out;
  }
  Table t;
  t.columns = {"scenario",
               "experiment",
               "metric",
               "variant",
               "is_control",
               "recipients",
               "effective_recipients",
               "successes",
               "rate",
               "rate_low",
               "rate_high",
               "uplift",
               "uplift_low",
               "uplift_high",
               "relative_uplift",
               "relative_low",
               "relative_high",
               "p_value",
               "p_beats_control",
               "p_best",
               "revenue_per_recipient",
               "revenue_diff_low",
               "revenue_diff_high",
               "still_running",
               "weighted",
               "warnings"};
  for (const auto& r : results) {
    boost::json::array warnings;
    std::string joined;
    for (const auto& w : r.analysis.warnings) {
      warnings.push_back(boost::json::value(w));
      joined += (joined.empty() ? "" : " | ") + w;
    }
    for (std::size_t k = 0; k < r.analysis.arms.size(); ++k) {
      const auto& a = r.analysis.arms[k];
      const auto low = [](const std::optional<stats::Interval>& i) {
        return number_or_null(i ? std::optional(i->low) : std::nullopt);
      };
      const auto high = [](const std::optional<stats::Interval>& i) {
        return number_or_null(i ? std::optional(i->high) : std::nullopt);
      };
      t.rows.push_back({boost::json::value(r.data.scenario),
                        boost::json::value(r.data.experiment),
                        boost::json::value(metric_name(r.data.metric)),
                        boost::json::value(a.name),
                        boost::json::value(a.is_control),
                        boost::json::value(r.data.recipients[k]),
                        boost::json::value(a.recipients),
                        boost::json::value(r.data.successes[k]),
                        number_or_null(a.rate),
                        low(a.rate_interval),
                        high(a.rate_interval),
                        number_or_null(a.uplift_absolute),
                        low(a.uplift_absolute_interval),
                        high(a.uplift_absolute_interval),
                        number_or_null(a.uplift_relative),
                        low(a.uplift_relative_interval),
                        high(a.uplift_relative_interval),
                        number_or_null(a.p_value),
                        number_or_null(a.probability_to_beat_control),
                        number_or_null(a.probability_best),
                        number_or_null(a.revenue_per_recipient),
                        low(a.revenue_difference_interval),
                        high(a.revenue_difference_interval),
                        boost::json::value(r.data.still_running),
                        boost::json::value(r.data.weighted),
                        format == "json" ? boost::json::value(warnings) : boost::json::value(joined)});
    }
  }
  return t.render(format);
}

} // namespace cvmd
