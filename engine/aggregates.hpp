#pragma once
// Shop-wide metrics for `cvmd metrics`: size, revenue, frequency, repeat rate, monthly
// retention and churn, the cohort retention matrix, concentration of revenue, LTV.

#include "engine/config.hpp"
#include "engine/customer_state.hpp"
#include "engine/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cvmd {

struct MonthActivity
{
  std::string month;         // YYYY-MM
  std::size_t buyers = 0;    // customers with an order in the month
  std::size_t retained = 0;  // of them, also buyers in the month before
  double retention = 0;      // retained / buyers of the month before (NaN for the first)
  double revenue = 0;
};

struct Cohort
{
  std::string month;              // month of the first order
  std::size_t size = 0;
  std::vector<double> retention;  // share buying in month +0, +1, ... up to --at
};

// New customers of a channel in a month (by the month of their first order) against
// what the channel cost then.
struct Acquisition
{
  std::string channel;
  std::string month;
  double spend = 0;
  std::size_t new_customers = 0;
  double cac = 0;        // spend / new customers (NaN without any)
  double ltv = 0;        // their revenue so far / new customers
  double ltv_to_cac = 0; // NaN when CAC is 0 or unknown
};

struct Aggregates
{
  std::size_t customers = 0;
  std::size_t buyers = 0;
  std::size_t orders = 0;
  double revenue = 0;
  double aov = 0;
  double purchase_frequency = 0;  // orders per buyer
  double repeat_rate = 0;         // share of buyers with two or more orders
  double top20_revenue_share = 0; // revenue share of the best 20% of buyers
  double historical_ltv = 0;      // revenue per buyer so far
  double predicted_ltv = 0;       // mean predicted CLV over buyers (NaN when not fitted)
  std::vector<MonthActivity> months;
  std::vector<Cohort> cohorts;
  std::vector<Acquisition> acquisition;
};

Aggregates compute_aggregates(const Store& store, const CustomerState& state,
                              const std::vector<AcquisitionSpend>& spend = {});

} // namespace cvmd
