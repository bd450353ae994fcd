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

bool
valid_counts(double x, double n)
{
  return std::isfinite(x) && std::isfinite(n) && x >= 0 && n >= 0 && x <= n;
}

namespace {

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

} // namespace cvmd::stats
