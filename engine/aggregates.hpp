#pragma once
// Shop-wide metrics for `cvmd metrics`: size, revenue, frequency, repeat rate, monthly
// retention and churn, the cohort retention matrix, concentration of revenue, LTV.

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
};

Aggregates compute_aggregates(const Store& store, const CustomerState& state);

} // namespace cvmd
