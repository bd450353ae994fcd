#pragma once
// Statistics for comparing the arms of an experiment (a split or a holdout): interval
// estimates for conversion rates and their differences, a significance test, Bayesian
// probabilities from Beta posteriors, Welch's interval for revenue per recipient, and an
// analysis that puts them together with plain-English warnings for the reports.
//
// Counts are doubles so that inverse-propensity-weighted counts pass through unchanged.
// Nothing here returns NaN or infinity: whatever is undefined for the data (a rate with no
// recipients, a relative uplift over a zero control rate, ...) is an empty optional, and so
// are counts that make no sense (negative, not finite, or more successes than trials).

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cvmd::stats {

struct Interval
{
  double low = 0, high = 0;
};

// Counts that make sense: finite, not negative, no more successes than trials.
bool valid_counts(double successes, double n);

// The two-sided 95% normal quantile.
inline constexpr double z95 = 1.959963984540054;

// Wilson's score interval for successes / n (Wilson 1927; method 3 of Newcombe 1998, Stat
// Med 17:857). Unlike the textbook p ± z·se it stays within [0, 1] and is not of zero
// width at 0 or n successes.
std::optional<Interval> wilson(double successes, double n, double z = z95);

// The interval for p1 - p2 from the two Wilson intervals: Newcombe's hybrid score interval,
// method 10 of Newcombe 1998, Stat Med 17:873.
std::optional<Interval> difference_interval(double x1, double n1, double x2, double n2, double z = z95);

// The relative uplift p1 / p2 - 1 and its interval from the log risk ratio (Katz et al.
// 1978). The relative uplift is empty when the control rate is 0. The interval is empty too
// when an arm has no successes, where the log risk ratio is infinite: rather than invent
// counts with the usual 0.5 correction it gives nothing (the difference interval, which
// handles zero counts well, is the one to read then); and when every trial in both arms
// succeeded, where it would have zero width.
std::optional<double> relative_uplift(double x1, double n1, double x2, double n2);
std::optional<Interval> relative_uplift_interval(double x1, double n1, double x2, double n2, double z = z95);

// The pooled two-proportion z-test of p1 = p2 (without continuity correction; z² is
// Pearson's chi-square of the 2×2 table). Empty when the pooled proportion is 0 or 1.
struct ZTest
{
  double z = 0;
  double p_value = 0; // two-sided
};
std::optional<ZTest> pooled_z_test(double x1, double n1, double x2, double n2);
std::optional<double> pooled_z_p_value(double x1, double n1, double x2, double n2);

// P(p1 > p2) for the posteriors Beta(1 + x, 1 + n - x) of a uniform prior, by numerical
// integration (within 1e-8 of the closed form at a million trials per arm too). With no
// trials an arm's posterior is the prior itself. Counts out of range are clamped into it
// (negative or non-finite counts count as 0, successes as at most n) so that a number
// always comes out; counts too large for Boost to evaluate (near 1e300) are treated as
// point masses at their posterior means.
double probability_to_beat(double x1, double n1, double x2, double n2);

// For each arm (x, n), the posterior probability that its rate is the highest; the
// probabilities add up to 1. Counts are clamped as for probability_to_beat.
std::vector<double> probability_best(const std::vector<std::pair<double, double>>& arms);

// Per-recipient values (revenue including the zeros of those who did not buy), summarised.
struct Sample
{
  double n = 0, sum = 0, sum_squares = 0;
};

std::optional<double> mean(const Sample& sample);

// Welch's unequal-variances t-test of mean(variant) - mean(control), with the
// Welch–Satterthwaite degrees of freedom. Empty with fewer than 2 values in an arm or no
// variance in either.
struct WelchTest
{
  double difference = 0;
  double t = 0, df = 0;
  double p_value = 0; // two-sided
  Interval interval;
};
std::optional<WelchTest> welch_test(const Sample& variant, const Sample& control, double level = 0.95);
std::optional<Interval> welch_interval(const Sample& variant, const Sample& control, double level = 0.95);

// Recipients per arm for a fixed-horizon test with 80% power at 5% two-sided significance
// to detect a change of the rate from p_control to p_control + delta, rounded up. The
// variance under the null is that of two arms at p_control, as in Evan Miller's sample
// size calculator. Empty for delta = 0 or rates outside [0, 1].
std::optional<double> sample_size_per_arm(double p_control, double delta);

} // namespace cvmd::stats
