#include "engine/clv.hpp"

#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/hypergeometric_pFq.hpp>
#include <nlopt.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace cvmd {

namespace {

constexpr double day_seconds = 86400.0;

double
lgam(double v)
{
  return std::lgamma(v); // glibc's: several times faster than a generic implementation
}

double
log_sum_exp(double a, double b)
{
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

// Customers with equal (x, t_x, T) contribute equal terms: fitting sums over the distinct
// combinations with their counts, which keeps a million customers cheap.
template<typename Key>
struct Grouped
{
  std::vector<Key> keys;
  std::vector<double> counts;
};

// Maximises `log_likelihood(log parameters)` with Nelder-Mead on the log scale, which keeps
// every parameter positive; then polishes with a second run from the optimum.
template<typename F>
Result<std::vector<double>>
maximise(F log_likelihood, std::vector<double> start)
{
  nlopt::opt opt(nlopt::LN_NELDERMEAD, static_cast<unsigned>(start.size()));
  struct Context
  {
    F* f;
  } context{&log_likelihood};
  opt.set_max_objective(
    [](unsigned n, const double* x, double*, void* data) {
      auto* c = static_cast<Context*>(data);
      const double v = (*c->f)(std::vector<double>(x, x + n));
      return std::isfinite(v) ? v : -1e300;
    },
    &context);
  opt.set_lower_bounds(std::vector<double>(start.size(), -12.0));
  opt.set_upper_bounds(std::vector<double>(start.size(), 12.0));
  opt.set_xtol_rel(1e-9);
  opt.set_ftol_rel(1e-13);
  opt.set_maxeval(5000);
  double best = 0;
  try {
    for (int round = 0; round < 2; ++round) {
      opt.optimize(start, best);
    }
  } catch (const std::exception& e) {
    return Result<std::vector<double>>::failure(std::string("the optimiser failed: ") + e.what());
  }
  if (!std::isfinite(best) || best <= -1e299) {
    return Result<std::vector<double>>::failure("the likelihood has no finite maximum for this data");
  }
  return start;
}

} // namespace

std::vector<PurchaseSummary>
summarize_purchases(const Store& store, std::int64_t at, double period_days)
{
  std::vector<PurchaseSummary> out;
  const double end_day = std::floor(static_cast<double>(at) / day_seconds);
  std::string current;
  std::map<double, double> day_totals; // day -> value that day
  auto flush = [&] {
    if (current.empty() || day_totals.empty()) {
      return;
    }
    PurchaseSummary s;
    s.customer_id = current;
    const double first = day_totals.begin()->first;
    const double last = day_totals.rbegin()->first;
    s.x = static_cast<double>(day_totals.size() - 1);
    s.t_x = (last - first) / period_days;
    s.T = (end_day - first) / period_days;
    if (s.x > 0) {
      double repeat_total = 0;
      for (auto it = std::next(day_totals.begin()); it != day_totals.end(); ++it) {
        repeat_total += it->second;
      }
      s.monetary = repeat_total / s.x;
    }
    out.push_back(std::move(s));
  };
  store.for_each_order(at, [&](const OrderRow& o) {
    if (o.customer_id != current) {
      flush();
      current = o.customer_id;
      day_totals.clear();
    }
    day_totals[std::floor(static_cast<double>(o.ordered_at) / day_seconds)] += static_cast<double>(o.amount_cents) / 100.0;
  });
  flush();
  return out;
}

double
bgnbd_log_likelihood(const BgNbd& m, double x, double t_x, double T)
{
  const double a1 = lgam(m.r + x) - lgam(m.r) + m.r * std::log(m.alpha);
  const double a2 = lgam(m.a + m.b) + lgam(m.b + x) - lgam(m.b) - lgam(m.a + m.b + x);
  const double a3 = -(m.r + x) * std::log(m.alpha + T);
  if (x <= 0) {
    return a1 + a2 + a3;
  }
  const double a4 = std::log(m.a) - std::log(m.b + x - 1) - (m.r + x) * std::log(m.alpha + t_x);
  return a1 + a2 + log_sum_exp(a3, a4);
}

double
gamma_gamma_log_likelihood(const GammaGamma& m, double x, double monetary)
{
  const double px = m.p * x;
  return lgam(px + m.q) - lgam(px) - lgam(m.q) + m.q * std::log(m.gamma) + (px - 1) * std::log(monetary) +
         px * std::log(x) - (px + m.q) * std::log(m.gamma + monetary * x);
}

Result<BgNbd>
fit_bgnbd(const std::vector<PurchaseSummary>& customers)
{
  if (customers.empty()) {
    return Result<BgNbd>::failure("no buyers to fit the purchase model on");
  }
  std::map<std::tuple<double, double, double>, double> grouped;
  for (const auto& c : customers) {
    grouped[{c.x, c.t_x, c.T}] += 1;
  }
  if (std::none_of(customers.begin(), customers.end(), [](const auto& c) { return c.x > 0; })) {
    return Result<BgNbd>::failure("no customer bought twice: the purchase model cannot be fitted");
  }
  // The gamma-function terms depend on x only, and x takes few values: compute them once
  // per value and evaluation; the per-group work is then three logarithms.
  struct Group
  {
    std::size_t x_index;
    double x, t_x, T, count;
  };
  std::vector<double> xs;
  std::vector<Group> groups;
  for (const auto& [key, count] : grouped) {
    const double x = std::get<0>(key);
    if (xs.empty() || xs.back() != x) {
      xs.push_back(x); // the map is ordered by x first
    }
    groups.push_back({xs.size() - 1, x, std::get<1>(key), std::get<2>(key), count});
  }
  std::vector<double> gamma_terms(xs.size());
  auto ll = [&](const std::vector<double>& log_params) {
    const BgNbd m{std::exp(log_params[0]), std::exp(log_params[1]), std::exp(log_params[2]), std::exp(log_params[3]), 0};
    const double base = -lgam(m.r) + m.r * std::log(m.alpha) + lgam(m.a + m.b) - lgam(m.b);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      gamma_terms[i] = base + lgam(m.r + xs[i]) + lgam(m.b + xs[i]) - lgam(m.a + m.b + xs[i]);
    }
    double total = 0;
    for (const auto& g : groups) {
      const double a3 = -(m.r + g.x) * std::log(m.alpha + g.T);
      double tail = a3;
      if (g.x > 0) {
        tail = log_sum_exp(a3, std::log(m.a) - std::log(m.b + g.x - 1) - (m.r + g.x) * std::log(m.alpha + g.t_x));
      }
      total += g.count * (gamma_terms[g.x_index] + tail);
    }
    return total;
  };
  auto best = maximise(ll, {0.0, 0.0, 0.0, 0.0});
  if (!best) {
    return Result<BgNbd>::failure(best.error());
  }
  const auto& p = *best;
  BgNbd m{std::exp(p[0]), std::exp(p[1]), std::exp(p[2]), std::exp(p[3]), 0};
  m.log_likelihood = ll(p);
  return m;
}

Result<GammaGamma>
fit_gamma_gamma(const std::vector<PurchaseSummary>& customers)
{
  std::map<std::pair<double, double>, double> grouped;
  for (const auto& c : customers) {
    if (c.x > 0 && c.monetary > 0) {
      grouped[{c.x, c.monetary}] += 1;
    }
  }
  if (grouped.empty()) {
    return Result<GammaGamma>::failure("no repeat purchases with a value: the value model cannot be fitted");
  }
  auto ll = [&](const std::vector<double>& log_params) {
    const GammaGamma m{std::exp(log_params[0]), std::exp(log_params[1]), std::exp(log_params[2]), 0};
    double total = 0;
    for (const auto& [key, count] : grouped) {
      total += count * gamma_gamma_log_likelihood(m, key.first, key.second);
    }
    return total;
  };
  auto best = maximise(ll, {0.0, 0.0, 0.0});
  if (!best) {
    return Result<GammaGamma>::failure(best.error());
  }
  const auto& p = *best;
  GammaGamma m{std::exp(p[0]), std::exp(p[1]), std::exp(p[2]), 0};
  m.log_likelihood = ll(p);
  return m;
}

double
p_alive(const BgNbd& m, const PurchaseSummary& c)
{
  if (c.x <= 0) {
    return 1.0;
  }
  const double log_ratio = (m.r + c.x) * (std::log(m.alpha + c.T) - std::log(m.alpha + c.t_x));
  return 1.0 / (1.0 + (m.a / (m.b + c.x - 1)) * std::exp(log_ratio));
}

double
expected_purchases(const BgNbd& m, const PurchaseSummary& c, double t)
{
  if (t <= 0) {
    return 0;
  }
  // FHL (2005) eq. 10. At a = 1 exactly the front factor is 0/0; the limit is continuous,
  // so a hair's breadth away gives it.
  const double a = std::abs(m.a - 1) < 1e-9 ? 1 + 1e-9 : m.a;
  const double z = t / (m.alpha + c.T + t);
  const double hyper = boost::math::hypergeometric_pFq({m.r + c.x, m.b + c.x}, {a + m.b + c.x - 1}, z);
  const double front = (a + m.b + c.x - 1) / (a - 1);
  const double body = 1 - std::pow((m.alpha + c.T) / (m.alpha + c.T + t), m.r + c.x) * hyper;
  const double denominator =
    c.x > 0 ? 1 + (a / (m.b + c.x - 1)) * std::pow((m.alpha + c.T) / (m.alpha + c.t_x), m.r + c.x) : 1.0;
  return front * body / denominator;
}

double
expected_order_value(const GammaGamma& m, const PurchaseSummary& c)
{
  if (m.q <= 1) {
    return std::nan("");
  }
  if (c.x <= 0) {
    return m.p * m.gamma / (m.q - 1); // the population mean
  }
  return m.p * (m.gamma + c.x * c.monetary) / (m.p * c.x + m.q - 1);
}

double
clv(const BgNbd& purchases, const GammaGamma& value, const PurchaseSummary& c, const ClvSettings& settings)
{
  const double per_period_rate = std::pow(1 + settings.annual_discount_rate, settings.period_days / 365.0) - 1;
  const double order_value = expected_order_value(value, c);
  double total = 0;
  double before = 0;
  for (double k = 1; k <= settings.horizon_periods; k += 1) {
    const double upto = expected_purchases(purchases, c, k);
    total += (upto - before) * order_value / std::pow(1 + per_period_rate, k);
    before = upto;
  }
  return total;
}

} // namespace cvmd
