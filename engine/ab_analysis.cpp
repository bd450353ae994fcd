#include "engine/ab_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cvmd::stats {

namespace {

// Counts as people read them: whole numbers with thousands separators; weighted counts
// keep one decimal.
std::string
format_count(double value)
{
  char buffer[400]; // up to 1e308 in full
  const bool whole = value == std::floor(value);
  std::snprintf(buffer, sizeof buffer, whole ? "%.0f" : "%.1f", std::abs(value));
  std::string digits = buffer, fraction;
  if (const auto dot = digits.find('.'); dot != std::string::npos) {
    fraction = digits.substr(dot);
    digits.resize(dot);
  }
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return (value < 0 ? "-" : "") + out + fraction;
}

std::string
format_rate(double rate)
{
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, rate < 0.01 ? "%.2f%%" : "%.1f%%", rate * 100);
  return buffer;
}

std::string
format_p(double p)
{
  if (p < 0.001) {
    return "p < 0.001";
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "p = %.3f", p);
  return buffer;
}

std::string
quoted(const std::string& name)
{
  return "\"" + name + "\"";
}

std::string
arm_label(const ArmInput& arm, bool control, bool capital)
{
  return std::string(control ? (capital ? "Control " : "control ") : (capital ? "Variant " : "variant ")) +
         quoted(arm.name);
}

} // namespace

ExperimentAnalysis
analyze(const std::vector<ArmInput>& arms, bool still_running, bool has_control, const std::string& successes)
{
  // "conversions" or "clicks": what the notes call a success.
  const std::string& noun = successes;
  const std::string verb = noun == "clicks" ? "clicked" : "converted";
  ExperimentAnalysis out;
  if (arms.empty()) {
    out.warnings.push_back("There are no arms to analyse.");
    return out;
  }
  if (!has_control) {
    out.warnings.push_back("There is no variant named control: the variants are listed with their rates and their "
                           "chance of being best, and none is compared with a baseline. Name the control variant "
                           "`control` to measure what the messages earn.");
  }
  if (arms.size() == 1) {
    out.warnings.push_back("Only one arm, " + quoted(arms[0].name) + ": there is nothing to compare it with.");
  }
  const auto usable = [](const ArmInput& a) { return valid_counts(a.conversions, a.recipients) && a.recipients > 0; };
  const ArmInput& control = arms[0];
  const bool control_usable = has_control && usable(control);

  std::vector<std::pair<double, double>> best_inputs;
  std::vector<std::size_t> best_arms;
  for (std::size_t i = 0; i < arms.size(); ++i) {
    if (usable(arms[i])) {
      best_inputs.emplace_back(arms[i].conversions, arms[i].recipients);
      best_arms.push_back(i);
    }
  }
  const auto best = best_inputs.size() >= 2 ? probability_best(best_inputs) : std::vector<double>();

  for (std::size_t i = 0; i < arms.size(); ++i) {
    const ArmInput& a = arms[i];
    ArmResult r;
    r.name = a.name;
    // Echoed for the report; a count that is not a number shows as 0 (and is warned about).
    r.recipients = std::isfinite(a.recipients) ? a.recipients : 0;
    r.conversions = std::isfinite(a.conversions) ? a.conversions : 0;
    r.is_control = has_control && i == 0;
    r.revenue_per_recipient = mean(a.revenue);
    if (usable(a)) {
      r.rate = a.conversions / a.recipients;
      r.rate_interval = wilson(a.conversions, a.recipients);
      if (!r.is_control && control_usable) {
        const double x1 = a.conversions, n1 = a.recipients, x2 = control.conversions, n2 = control.recipients;
        r.uplift_absolute = x1 / n1 - x2 / n2;
        r.uplift_absolute_interval = difference_interval(x1, n1, x2, n2);
        r.uplift_relative = relative_uplift(x1, n1, x2, n2);
        r.uplift_relative_interval = relative_uplift_interval(x1, n1, x2, n2);
        r.p_value = pooled_z_p_value(x1, n1, x2, n2);
        r.probability_to_beat_control = probability_to_beat(x1, n1, x2, n2);
      }
      const auto at = std::find(best_arms.begin(), best_arms.end(), i);
      if (!best.empty() && at != best_arms.end()) {
        r.probability_best = best[static_cast<std::size_t>(at - best_arms.begin())];
      }
    }
    if (!r.is_control && has_control) {
      r.revenue_difference_interval = welch_interval(a.revenue, control.revenue);
    }
    out.arms.push_back(std::move(r));
  }

  // Per arm, in arm order.
  for (std::size_t i = 0; i < arms.size(); ++i) {
    const ArmInput& a = arms[i];
    const bool is_control = has_control && i == 0;
    if (!std::isfinite(a.conversions) || !std::isfinite(a.recipients)) {
      out.warnings.push_back(arm_label(a, is_control, true) +
                             " has a count that is not a number: check the data; its figures are left out.");
      continue;
    }
    if (!valid_counts(a.conversions, a.recipients)) {
      out.warnings.push_back(arm_label(a, is_control, true) + " has counts that do not fit together (" +
                             format_count(a.conversions) + " " + noun + ", " + format_count(a.recipients) +
                             " recipients): check the data; its figures are left out.");
      continue;
    }
    if (a.recipients <= 0) {
      out.warnings.push_back(arm_label(a, is_control, true) + " has no recipients yet: nothing to compare" +
                             (is_control ? " the variants against." : "."));
      continue;
    }
    if (a.conversions <= 0) {
      out.warnings.push_back(arm_label(a, is_control, true) + " has no " + noun + " yet (0 of " +
                             format_count(a.recipients) + " recipients)" +
                             (is_control ? ": the relative uplift of the variants cannot be computed." : "."));
    }
    if (a.recipients < 100 || a.conversions < 10) {
      out.warnings.push_back(arm_label(a, is_control, true) + " has only " + format_count(a.recipients) +
                             " recipients and " + format_count(a.conversions) + " " + noun +
                             ": with fewer than 100 recipients or 10 " + noun +
                             " in an arm the "
                             "intervals are wide; do not decide yet.");
    }
  }

  // Every arm at 0% or every arm at 100%: the test and the intervals have nothing to work on.
  if (best_arms.size() >= 2) {
    const bool none =
      std::all_of(best_arms.begin(), best_arms.end(), [&](std::size_t i) { return arms[i].conversions <= 0; });
    const bool all = std::all_of(best_arms.begin(), best_arms.end(),
                                 [&](std::size_t i) { return arms[i].conversions >= arms[i].recipients; });
    if (none) {
      out.warnings.push_back("No recipient in any arm has " + verb + " yet: no difference can be measured.");
    } else if (all) {
      out.warnings.push_back("Every recipient in every arm has " + verb + ": no difference can be measured.");
    }
  }

  // A significant result seen while the experiment still enrols: checked against the size
  // a fixed-horizon test would have needed for the difference observed.
  if (still_running && control_usable) {
    for (std::size_t i = 1; i < arms.size(); ++i) {
      const ArmResult& r = out.arms[i];
      if (!r.p_value || *r.p_value >= 0.05 || !r.rate || !r.uplift_absolute) {
        continue;
      }
      const auto needed = sample_size_per_arm(*out.arms[0].rate, *r.uplift_absolute);
      if (!needed || std::min(arms[i].recipients, control.recipients) >= *needed) {
        continue;
      }
      out.warnings.push_back(
        "The experiment is still running and " + arm_label(arms[i], false, false) + " looks significant (" +
        format_p(*r.p_value) + "), but a fixed-horizon test needs about " + format_count(*needed) +
        " recipients per arm to detect a change from " + format_rate(*out.arms[0].rate) + " to " +
        format_rate(*r.rate) + " (80% power, 5% significance); it has " + format_count(arms[i].recipients) +
        " and the control " + format_count(control.recipients) +
        " so far. Looking at the results again and again while recipients come in inflates false positives: "
        "wait until every arm reaches that size before deciding.");
    }
  }

  return out;
}

} // namespace cvmd::stats
