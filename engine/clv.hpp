#pragma once
// Predicted customer lifetime value: BG/NBD for the number of future purchases (Fader,
// Hardie & Lee 2005, "Counting your customers the easy way") and Gamma-Gamma for their
// value (Fader & Hardie 2013), fitted by maximum likelihood with NLopt.
//
// Conventions of the models: purchases are counted per distinct day; x is the number of
// repeat purchase days, t_x the time of the last one and T the age, both measured from the
// first purchase in periods (days or weeks), the calibration window ending on `at`
// inclusive; the monetary value is the mean of the repeat purchase days' totals.

#include "engine/result.hpp"
#include "engine/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cvmd {

struct PurchaseSummary
{
  std::string customer_id;
  double x = 0;        // repeat purchase days
  double t_x = 0;      // time of the last purchase, periods after the first
  double T = 0;        // age: periods from the first purchase to the end of the window
  double monetary = 0; // mean value of the repeat purchase days (0 when x = 0)
};

// One summary per buyer, from the orders up to `at`; `period_days` is 1 or 7.
std::vector<PurchaseSummary> summarize_purchases(const Store& store, std::int64_t at, double period_days);

struct BgNbd
{
  double r = 0, alpha = 0, a = 0, b = 0;
  double log_likelihood = 0;
};

struct GammaGamma
{
  double p = 0, q = 0, gamma = 0;
  double log_likelihood = 0;
};

double bgnbd_log_likelihood(const BgNbd& model, double x, double t_x, double T);
double gamma_gamma_log_likelihood(const GammaGamma& model, double x, double monetary);

Result<BgNbd> fit_bgnbd(const std::vector<PurchaseSummary>& customers);
// The summed log-likelihood and, if `gradient` is given, its gradient in the logarithms of
// (r, alpha, a, b) — what the fit climbs.
double bgnbd_log_likelihood_and_gradient(const BgNbd& model, const std::vector<PurchaseSummary>& customers,
                                         double* gradient);
// Fitted on customers with at least one repeat purchase.
Result<GammaGamma> fit_gamma_gamma(const std::vector<PurchaseSummary>& customers);
// The summed log-likelihood and, if `gradient` is given, its gradient in the logarithms of
// (p, q, gamma).
double gamma_gamma_log_likelihood_and_gradient(const GammaGamma& model, const std::vector<PurchaseSummary>& customers,
                                               double* gradient);

double p_alive(const BgNbd& model, const PurchaseSummary& c);
// Expected purchases in the next `t` periods.
double expected_purchases(const BgNbd& model, const PurchaseSummary& c, double t);
double expected_order_value(const GammaGamma& model, const PurchaseSummary& c);

struct ClvSettings
{
  double horizon_periods = 52;      // one year in weeks
  double period_days = 7;
  double annual_discount_rate = 0.1;
};

// Expected revenue over the horizon, each period's expected purchases discounted.
double clv(const BgNbd& purchases, const GammaGamma& value, const PurchaseSummary& c, const ClvSettings& settings);

} // namespace cvmd
