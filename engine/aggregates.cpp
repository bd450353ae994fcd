#include "engine/aggregates.hpp"

#include "engine/config.hpp"
#include "engine/values.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace cvmd {

namespace {

int
month_index(std::int64_t seconds) // months since 1970-01
{
  const auto date = format_date(seconds); // YYYY-MM-DD
  return (std::stoi(date.substr(0, 4)) - 1970) * 12 + std::stoi(date.substr(5, 2)) - 1;
}

std::string
month_name(int index)
{
  const int year = 1970 + index / 12;
  const int month = index % 12 + 1;
  return std::to_string(year) + (month < 10 ? "-0" : "-") + std::to_string(month);
}

} // namespace

Aggregates
compute_aggregates(const Store& store, const CustomerState& state, const std::vector<AcquisitionSpend>& spend)
{
  Aggregates out;
  out.customers = state.size();
  std::map<int, std::set<std::string>> buyers_by_month;
  std::map<int, double> revenue_by_month;
  std::map<std::string, int> first_month;
  std::map<std::string, double> revenue_by_customer;
  std::int64_t total_cents = 0;
  std::map<int, std::int64_t> cents_by_month;
  std::map<std::string, std::int64_t> cents_by_customer;
  store.for_each_order(state.at(), [&](const Purchase& o) {
    const int m = month_index(o.ordered_at);
    buyers_by_month[m].insert(o.customer_id);
    cents_by_month[m] += o.amount_cents;
    first_month.try_emplace(o.customer_id, m); // orders come in time order per customer
    cents_by_customer[o.customer_id] += o.amount_cents; // exact: ties stay ties
    total_cents += o.amount_cents;
    ++out.orders;
  });
  out.revenue = static_cast<double>(total_cents) / 100.0;
  for (const auto& [m, c] : cents_by_month) {
    revenue_by_month[m] = static_cast<double>(c) / 100.0;
  }
  for (const auto& [id, c] : cents_by_customer) {
    revenue_by_customer[id] = static_cast<double>(c) / 100.0;
  }
  out.buyers = revenue_by_customer.size();
  if (out.buyers == 0) {
    out.aov = out.purchase_frequency = out.repeat_rate = out.top20_revenue_share = out.historical_ltv =
      out.predicted_ltv = std::nan("");
    return out;
  }
  out.aov = out.revenue / static_cast<double>(out.orders);
  out.purchase_frequency = static_cast<double>(out.orders) / static_cast<double>(out.buyers);
  out.historical_ltv = out.revenue / static_cast<double>(out.buyers);

  const auto orders_id = static_cast<dsl::AttrId>(*dsl::find_attribute("orders"));
  const auto clv_id = static_cast<dsl::AttrId>(*dsl::find_attribute("clv"));
  std::size_t repeaters = 0;
  double clv_sum = 0;
  std::size_t clv_count = 0;
  for (std::size_t i = 0; i < state.size(); ++i) {
    repeaters += state.number(orders_id, i) >= 2 ? 1 : 0;
    const double c = state.number(clv_id, i);
    if (!std::isnan(c)) {
      clv_sum += c;
      ++clv_count;
    }
  }
  out.repeat_rate = static_cast<double>(repeaters) / static_cast<double>(out.buyers);
  out.predicted_ltv = clv_count ? clv_sum / static_cast<double>(clv_count) : std::nan("");

  std::vector<double> spent;
  for (const auto& [id, revenue] : revenue_by_customer) {
    spent.push_back(revenue);
  }
  std::sort(spent.begin(), spent.end(), std::greater<>());
  const auto top = static_cast<std::size_t>(std::ceil(0.2 * static_cast<double>(spent.size())));
  out.top20_revenue_share =
    out.revenue > 0 ? std::accumulate(spent.begin(), spent.begin() + static_cast<std::ptrdiff_t>(top), 0.0) / out.revenue
                    : std::nan("");

  const int first = buyers_by_month.begin()->first;
  const int last = month_index(state.at());
  for (int m = first; m <= last; ++m) {
    MonthActivity a;
    a.month = month_name(m);
    const auto& now = buyers_by_month[m];
    a.buyers = now.size();
    a.revenue = revenue_by_month[m];
    if (m == first) {
      a.retention = std::nan("");
    } else {
      const auto& before = buyers_by_month[m - 1];
      for (const auto& id : now) {
        a.retained += before.count(id);
      }
      a.retention = before.empty() ? std::nan("") : static_cast<double>(a.retained) / static_cast<double>(before.size());
    }
    out.months.push_back(std::move(a));
  }

  if (!spend.empty()) {
    const auto channel_id = static_cast<dsl::AttrId>(*dsl::find_attribute("acquisition_channel"));
    // (channel, month) -> new customers, their revenue
    std::map<std::pair<std::string, std::string>, std::pair<std::size_t, double>> acquired;
    for (const auto& [id, m] : first_month) {
      const auto index = state.index_of(id);
      if (!index) {
        continue;
      }
      auto& cell = acquired[{std::string(state.text(channel_id, *index)), month_name(m)}];
      ++cell.first;
      cell.second += revenue_by_customer[id];
    }
    for (const auto& s : spend) {
      Acquisition a;
      a.channel = s.channel;
      a.month = s.month;
      a.spend = s.amount;
      const auto it = acquired.find({s.channel, s.month});
      a.new_customers = it == acquired.end() ? 0 : it->second.first;
      const double n = static_cast<double>(a.new_customers);
      a.cac = a.new_customers ? s.amount / n : std::nan("");
      a.ltv = a.new_customers ? it->second.second / n : std::nan("");
      a.ltv_to_cac = a.new_customers && s.amount > 0 ? a.ltv / a.cac : std::nan("");
      out.acquisition.push_back(a);
    }
  }

  std::map<int, std::vector<std::string>> cohort_members;
  for (const auto& [id, m] : first_month) {
    cohort_members[m].push_back(id);
  }
  for (const auto& [m, members] : cohort_members) {
    Cohort c;
    c.month = month_name(m);
    c.size = members.size();
    for (int k = m; k <= last; ++k) {
      const auto& active = buyers_by_month[k];
      std::size_t count = 0;
      for (const auto& id : members) {
        count += active.count(id);
      }
      c.retention.push_back(static_cast<double>(count) / static_cast<double>(c.size));
    }
    out.cohorts.push_back(std::move(c));
  }
  return out;
}

} // namespace cvmd
