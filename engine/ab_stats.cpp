#include "engine/ab_stats.hpp"

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace cvmd::stats {

namespace {

bool
valid_counts(double x, double n)
{
  return std::isfinite(x) && std::isfinite(n) && x >= 0 && n >= 0 && x <= n;
}

bool
finite(const Interval& i)
{
  return std::isfinite(i.low) && std::isfinite(i.high);
}

double
normal_two_sided_p(double z)
{
  const boost::math::normal_distribution<double> normal;
  return 2 * boost::math::cdf(boost::math::complement(normal, std::abs(z)));
}

} // namespace

std::optional<Interval>
wilson(double successes, double n, double z)
{
  if (!valid_counts(successes, n) || n <= 0 || !std::isfinite(z) || z <= 0) {
    return std::nullopt;
  }
  const double z2 = z * z;
  const double centre = (successes + z2 / 2) / (n + z2);
  const double half = z / (n + z2) * std::sqrt(successes * (n - successes) / n + z2 / 4);
  // At 0 or n successes the bound is 0 or 1 exactly, which rounding would miss.
  return Interval{successes <= 0 ? 0.0 : std::max(0.0, centre - half),
                  successes >= n ? 1.0 : std::min(1.0, centre + half)};
}

std::optional<Interval>
difference_interval(double x1, double n1, double x2, double n2, double z)
{
  const auto w1 = wilson(x1, n1, z);
  const auto w2 = wilson(x2, n2, z);
  if (!w1 || !w2) {
    return std::nullopt;
  }
  const double p1 = x1 / n1, p2 = x2 / n2, d = p1 - p2;
  const double below = std::hypot(p1 - w1->low, w2->high - p2);
  const double above = std::hypot(w1->high - p1, p2 - w2->low);
  return Interval{std::max(-1.0, d - below), std::min(1.0, d + above)};
}

std::optional<double>
relative_uplift(double x1, double n1, double x2, double n2)
{
  if (!valid_counts(x1, n1) || !valid_counts(x2, n2) || n1 <= 0 || n2 <= 0 || x2 <= 0) {
    return std::nullopt;
  }
  const double uplift = (x1 / n1) / (x2 / n2) - 1;
  if (!std::isfinite(uplift)) { // a control rate of 1e-300
    return std::nullopt;
  }
  return uplift;
}

std::optional<Interval>
relative_uplift_interval(double x1, double n1, double x2, double n2, double z)
{
  if (!relative_uplift(x1, n1, x2, n2) || x1 <= 0 || !std::isfinite(z) || z <= 0) {
    return std::nullopt;
  }
  const double variance = 1 / x1 - 1 / n1 + 1 / x2 - 1 / n2;
  if (!(variance > 0)) {
    return std::nullopt;
  }
  const double log_ratio = std::log(x1 / n1) - std::log(x2 / n2);
  const double half = z * std::sqrt(variance);
  const Interval out{std::exp(log_ratio - half) - 1, std::exp(log_ratio + half) - 1};
  if (!finite(out)) {
    return std::nullopt;
  }
  return out;
}

std::optional<ZTest>
pooled_z_test(double x1, double n1, double x2, double n2)
{
  if (!valid_counts(x1, n1) || !valid_counts(x2, n2) || n1 <= 0 || n2 <= 0) {
    return std::nullopt;
  }
  const double pooled = (x1 + x2) / (n1 + n2);
  const double variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
  if (!(variance > 0)) {
    return std::nullopt;
  }
  const double z = (x1 / n1 - x2 / n2) / std::sqrt(variance);
  if (!std::isfinite(z)) {
    return std::nullopt;
  }
  return ZTest{z, normal_two_sided_p(z)};
}

std::optional<double>
pooled_z_p_value(double x1, double n1, double x2, double n2)
{
  const auto test = pooled_z_test(x1, n1, x2, n2);
  if (!test) {
    return std::nullopt;
  }
  return test->p_value;
}

namespace {

// Errors as NaN instead of exceptions: with absurd counts (1e300 recipients) a quantile or
// density may fail; such values are left out below rather than thrown to a report.
using QuietPolicy =
  boost::math::policies::policy<boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
                                boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
                                boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>>;
using Beta = boost::math::beta_distribution<double, QuietPolicy>;

// Probability levels at which a posterior's quantiles split the integration range. The
// posteriors of large arms are very narrow (a standard deviation of 3e-4 at a million
// recipients): a quadrature over [0, 1] would miss them, so each integral runs between
// the 1e-10 and 1 - 1e-10 quantiles of its own arm (the mass beyond is negligible at four
// decimals), cut where the densities and distribution functions of every arm bend, so
// that each piece is smooth for Gauss–Kronrod.
constexpr std::array<double, 7> tail_levels = {1e-10, 1e-7, 1e-4, 1e-2, 0.1, 0.3, 0.5};

struct Posterior
{
  Beta beta;
  std::vector<double> cuts; // quantiles at the tail levels from both ends, ascending
};

Posterior
posterior(double x, double n)
{
  // Clamped so that a number always comes out (see the header).
  n = std::isfinite(n) ? std::max(0.0, n) : 0.0;
  x = std::isfinite(x) ? std::clamp(x, 0.0, n) : 0.0;
  // 1 + (n - x), not 1 + n - x: at 1e300 the latter rounds to 0.
  Posterior p{Beta(1 + x, 1 + (n - x)), {}};
  for (const double level : tail_levels) {
    // The upper quantiles from the complement: 1 - 1e-10 has few significant digits left.
    for (const double q :
         {boost::math::quantile(p.beta, level), boost::math::quantile(boost::math::complement(p.beta, level))}) {
      if (q >= 0 && q <= 1) {
        p.cuts.push_back(q);
      }
    }
  }
  if (p.cuts.empty()) {
    p.cuts = {0.0, 1.0};
  }
  std::sort(p.cuts.begin(), p.cuts.end());
  return p;
}

// P(arm k has the highest rate) = ∫ pdf_k(t) ∏_{j≠k} cdf_j(t) dt.
double
probability_highest(const std::vector<Posterior>& arms, std::size_t k)
{
  const double low = arms[k].cuts.front(), high = arms[k].cuts.back();
  std::vector<double> cuts;
  for (const auto& arm : arms) {
    for (const double c : arm.cuts) {
      if (c >= low && c <= high) {
        cuts.push_back(c);
      }
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  const auto integrand = [&](double t) {
    double value = boost::math::pdf(arms[k].beta, t);
    for (std::size_t j = 0; j < arms.size() && value > 0; ++j) {
      if (j != k) {
        value *= boost::math::cdf(arms[j].beta, t);
      }
    }
    return std::isfinite(value) ? value : 0.0;
  };
  double total = 0;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    // Each piece mapped onto [-1, 1] by hand: Boost 1.81 compares the error estimate of the
    // unmapped integrand with the tolerance of the mapped one, so on short pieces it never
    // met the tolerance and subdivided to the maximum depth (a quarter of a million
    // evaluations for two uniform posteriors).
    const double middle = (cuts[i] + cuts[i + 1]) / 2, half = (cuts[i + 1] - cuts[i]) / 2;
    if (half > 0) {
      total += boost::math::quadrature::gauss_kronrod<double, 31>::integrate(
        [&](double u) { return half * integrand(middle + half * u); }, -1.0, 1.0, 8, 1e-10);
    }
  }
  return total;
}

} // namespace

std::vector<double>
probability_best(const std::vector<std::pair<double, double>>& arms)
{
  if (arms.empty()) {
    return {};
  }
  std::vector<Posterior> posteriors;
  posteriors.reserve(arms.size());
  for (const auto& [x, n] : arms) {
    posteriors.push_back(posterior(x, n));
  }
  std::vector<double> out;
  double total = 0;
  for (std::size_t k = 0; k < arms.size(); ++k) {
    out.push_back(probability_highest(posteriors, k));
    total += out.back();
  }
  // The integrals leave out 2e-10 of each arm's mass; normalised, they add up to 1 as the
  // reports will show them.
  if (!(total > 0) || !std::isfinite(total)) {
    // Boost could not evaluate the posteriors (counts near 1e300): they are point masses
    // for every practical purpose, so the arms with the highest mean share the certainty.
    std::vector<double> means;
    for (const auto& p : posteriors) {
      means.push_back(boost::math::mean(p.beta));
    }
    const double top = *std::max_element(means.begin(), means.end());
    const auto ties = static_cast<double>(std::count(means.begin(), means.end(), top));
    for (std::size_t k = 0; k < out.size(); ++k) {
      out[k] = means[k] == top ? 1.0 / ties : 0.0;
    }
    return out;
  }
  for (auto& p : out) {
    p /= total;
  }
  return out;
}

double
probability_to_beat(double x1, double n1, double x2, double n2)
{
  return probability_best({{x1, n1}, {x2, n2}})[0];
}

std::optional<double>
mean(const Sample& sample)
{
  if (!std::isfinite(sample.n) || !std::isfinite(sample.sum) || sample.n <= 0) {
    return std::nullopt;
  }
  return sample.sum / sample.n;
}

namespace {

// The unbiased variance from the sums. Σx² - (Σx)²/n cancels badly when the values hardly
// vary: what is left below the rounding error of Σx² is taken as no variance at all, or
// identical values would show a spurious, tiny spread (and an absurd t).
std::optional<double>
variance(const Sample& s)
{
  if (!std::isfinite(s.n) || !std::isfinite(s.sum) || !std::isfinite(s.sum_squares) || s.n < 2 || s.sum_squares < 0) {
    return std::nullopt;
  }
  const double squares = s.sum_squares - s.sum * s.sum / s.n;
  if (squares < -1e-9 * s.sum_squares) { // more than rounding: no real values have these sums
    return std::nullopt;
  }
  if (squares <= 1e-12 * s.sum_squares) {
    return 0.0;
  }
  return squares / (s.n - 1);
}

} // namespace

std::optional<WelchTest>
welch_test(const Sample& variant, const Sample& control, double level)
{
  const auto v1 = variance(variant), v2 = variance(control);
  if (!v1 || !v2 || !(level > 0 && level < 1)) {
    return std::nullopt;
  }
  const double a = *v1 / variant.n, b = *v2 / control.n, se2 = a + b;
  if (!(se2 > 0)) {
    return std::nullopt;
  }
  WelchTest out;
  out.difference = variant.sum / variant.n - control.sum / control.n;
  out.t = out.difference / std::sqrt(se2);
  out.df = se2 * se2 / (a * a / (variant.n - 1) + b * b / (control.n - 1));
  if (!std::isfinite(out.t) || !std::isfinite(out.df)) {
    return std::nullopt;
  }
  const boost::math::students_t_distribution<double> t(out.df);
  out.p_value = 2 * boost::math::cdf(boost::math::complement(t, std::abs(out.t)));
  const double half = boost::math::quantile(boost::math::complement(t, (1 - level) / 2)) * std::sqrt(se2);
  out.interval = {out.difference - half, out.difference + half};
  if (!finite(out.interval)) {
    return std::nullopt;
  }
  return out;
}

std::optional<Interval>
welch_interval(const Sample& variant, const Sample& control, double level)
{
  const auto test = welch_test(variant, control, level);
  if (!test) {
    return std::nullopt;
  }
  return test->interval;
}

std::optional<double>
sample_size_per_arm(double p_control, double delta)
{
  const double p1 = p_control, p2 = p_control + delta;
  if (!std::isfinite(p1) || !std::isfinite(delta) || delta == 0 || p1 < 0 || p1 > 1 || p2 < 0 || p2 > 1) {
    return std::nullopt;
  }
  const boost::math::normal_distribution<double> normal;
  const double z_alpha = boost::math::quantile(normal, 0.975), z_beta = boost::math::quantile(normal, 0.8);
  const double root = z_alpha * std::sqrt(2 * p1 * (1 - p1)) + z_beta * std::sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  // At least one: from 0% to 100% the arithmetic says none.
  return std::max(1.0, std::ceil(root * root / (delta * delta)));
}

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
