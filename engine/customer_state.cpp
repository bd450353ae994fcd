#include "engine/customer_state.hpp"

#include "engine/clv.hpp"

#include <algorithm>
#include <numeric>

namespace cvmd {

namespace {

dsl::AttrId
attr(std::string_view name)
{
  return static_cast<dsl::AttrId>(*dsl::find_attribute(name));
}

constexpr double day = 86400.0;

// Scores 1-5 by quintiles of `value` over `members` (higher value, higher score). Equal
// values get equal scores: the score of the first of them in ascending order, so that
// ties never split and the many one-order customers all get f_score 1.
std::vector<double>
quintile_scores(const std::vector<double>& value, const std::vector<std::size_t>& members)
{
  std::vector<double> score(value.size(), std::nan(""));
  std::vector<std::size_t> order = members;
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return value[a] < value[b]; });
  const double n = static_cast<double>(order.size());
  std::size_t group_start = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (k > 0 && value[order[k]] != value[order[k - 1]]) {
      group_start = k;
    }
    score[order[k]] = 1 + std::floor(5.0 * static_cast<double>(group_start) / n);
  }
  return score;
}

} // namespace

const char*
rfm_segment_for(int r, int f, int m)
{
  if (r >= 4) {
    if (f >= 4) {
      return m >= 4 ? "champions" : "loyal";
    }
    return f >= 2 ? "potential_loyalist" : "new";
  }
  if (r == 3) {
    return f >= 4 ? "loyal" : f >= 2 ? "need_attention" : "promising";
  }
  if (r == 2) {
    return f >= 4 ? "at_risk" : f >= 2 ? "about_to_sleep" : "hibernating";
  }
  return f >= 4 ? "cant_lose" : f >= 2 ? "at_risk" : "lost";
}

CustomerState
CustomerState::build(const Store& store, std::int64_t at, const MetricsConfig& config)
{
  CustomerState s;
  s.m_at = at;
  const auto text_attributes = {"first_name", "last_name", "email", "phone", "country", "timezone",
                                "acquisition_channel"};
  std::vector<bool> email_consent;
  std::vector<bool> sms_consent;
  // A customer whose first order comes after `at` was not a customer yet. (Customers
  // without any order have no date of their own and are prospects at every `at`.)
  const auto first_orders = store.first_order_times();
  store.for_each_customer([&](const StoredCustomer& c) {
    if (auto it = first_orders.find(c.customer_id); it != first_orders.end() && it->second > at) {
      return;
    }
    const auto i = s.m_ids.size();
    s.m_index.emplace(c.customer_id, i);
    s.m_ids.push_back(c.customer_id);
    for (const auto* name : text_attributes) {
      auto it = c.fields.find(name);
      s.m_texts[attr(name)].push_back(it == c.fields.end() ? std::string() : it->second);
    }
    email_consent.push_back(c.email_consent);
    sms_consent.push_back(c.sms_consent);
    for (const auto& [name, value] : c.profile) {
      auto& column = s.m_profile[name];
      column.resize(i + 1);
      column[i] = value;
    }
  });
  const auto n = s.m_ids.size();
  for (auto& [name, column] : s.m_profile) {
    column.resize(n);
  }

  std::vector<double> orders(n, 0), revenue(n, 0);
  std::vector<std::int64_t> cents(n, 0); // summed exactly: 0.10 + 0.20 ties with 0.30
  s.m_first_order_at.assign(n, 0);
  s.m_last_order_at.assign(n, 0);
  store.for_each_order(at, [&](const OrderRow& o) {
    const auto i = s.m_index.at(o.customer_id);
    if (orders[i] == 0) {
      s.m_first_order_at[i] = o.ordered_at;
    }
    s.m_last_order_at[i] = o.ordered_at;
    orders[i] += 1;
    cents[i] += o.amount_cents;
  });
  for (std::size_t i = 0; i < n; ++i) {
    revenue[i] = static_cast<double>(cents[i]) / 100.0;
  }

  const double nan = std::nan("");
  std::vector<double> aov(n, nan), since_last(n, nan), since_first(n, nan), between(n, nan);
  std::vector<std::size_t> buyers;
  for (std::size_t i = 0; i < n; ++i) {
    if (orders[i] == 0) {
      continue;
    }
    buyers.push_back(i);
    aov[i] = revenue[i] / orders[i];
    since_last[i] = std::floor(static_cast<double>(at - s.m_last_order_at[i]) / day);
    since_first[i] = std::floor(static_cast<double>(at - s.m_first_order_at[i]) / day);
    if (orders[i] >= 2) {
      between[i] = static_cast<double>(s.m_last_order_at[i] - s.m_first_order_at[i]) / day / (orders[i] - 1);
    }
  }

  // Recency scores: fewer days since the last order is better, so score the negation.
  std::vector<double> recency_value(n, 0);
  for (auto i : buyers) {
    recency_value[i] = -since_last[i];
  }
  const auto r = quintile_scores(recency_value, buyers);
  const auto f = quintile_scores(orders, buyers);
  const auto m = quintile_scores(revenue, buyers);

  std::vector<std::string> rfm(n), segment(n), lifecycle(n), tier(n, "low");
  std::vector<std::uint8_t> vip(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (orders[i] == 0) {
      lifecycle[i] = "prospect";
      continue;
    }
    const int ri = static_cast<int>(r[i]), fi = static_cast<int>(f[i]), mi = static_cast<int>(m[i]);
    rfm[i] = std::to_string(ri) + std::to_string(fi) + std::to_string(mi);
    segment[i] = rfm_segment_for(ri, fi, mi);
    lifecycle[i] = since_last[i] > config.inactive_after_days ? "inactive"
                   : since_last[i] > config.lapsing_after_days ? "lapsing"
                   : since_first[i] <= config.new_days         ? "new"
                                                               : "active";
  }

  // VIP: the top vip_top_percent of buyers by revenue (ties at the threshold included).
  std::vector<std::size_t> by_revenue = buyers;
  std::sort(by_revenue.begin(), by_revenue.end(), [&](auto a, auto b) { return revenue[a] > revenue[b]; });
  if (!by_revenue.empty()) {
    const auto count = static_cast<std::size_t>(
      std::ceil(static_cast<double>(by_revenue.size()) * config.vip_top_percent / 100.0));
    if (count > 0) {
      const double threshold = revenue[by_revenue[std::min(count, by_revenue.size()) - 1]];
      for (auto i : buyers) {
        vip[i] = revenue[i] >= threshold ? 1 : 0;
      }
    }
  }
  // Value tiers by share of revenue, best customers first: those who bring the first 50%
  // are high, the next 30% medium, the rest (and prospects) low.
  // Equal revenue, equal tier: the tier of the first of the tied customers.
  const double total = std::accumulate(revenue.begin(), revenue.end(), 0.0);
  double before = 0;
  const char* tied_tier = "low";
  for (std::size_t k = 0; k < by_revenue.size(); ++k) {
    const auto i = by_revenue[k];
    if (k == 0 || revenue[i] != revenue[by_revenue[k - 1]]) {
      tied_tier = before < 0.5 * total ? "high" : before < 0.8 * total ? "medium" : "low";
    }
    tier[i] = tied_tier;
    before += revenue[i];
  }

  s.m_numbers[attr("orders")] = std::move(orders);
  s.m_numbers[attr("revenue")] = std::move(revenue);
  s.m_numbers[attr("aov")] = std::move(aov);
  s.m_numbers[attr("days_since_last_order")] = std::move(since_last);
  s.m_numbers[attr("days_since_first_order")] = std::move(since_first);
  s.m_numbers[attr("avg_days_between_orders")] = std::move(between);
  s.m_numbers[attr("r_score")] = r;
  s.m_numbers[attr("f_score")] = f;
  s.m_numbers[attr("m_score")] = m;
  std::vector<double> clv_column(n, nan), alive(n, nan), expected(n, nan);
  if (config.predict_clv) {
    // Weekly, as in the models' literature; prospects have nothing to predict from.
    const auto summaries = summarize_purchases(store, at, 7);
    const auto purchases = fit_bgnbd(summaries);
    const auto value = fit_gamma_gamma(summaries);
    ClvSettings settings;
    settings.period_days = 7;
    settings.horizon_periods = std::max(1.0, std::round(config.clv_horizon_days / 7));
    settings.annual_discount_rate = config.clv_discount_rate;
    for (const auto& c : summaries) {
      const auto it = s.m_index.find(c.customer_id);
      if (!purchases || it == s.m_index.end()) {
        continue;
      }
      alive[it->second] = p_alive(*purchases, c);
      expected[it->second] = expected_purchases(*purchases, c, settings.horizon_periods);
      if (value) { // CLV needs both models; the purchase predictions stand on their own
        clv_column[it->second] = clv(*purchases, *value, c, settings);
      }
    }
  }
  s.m_numbers[attr("clv")] = std::move(clv_column);
  s.m_numbers[attr("p_alive")] = std::move(alive);
  s.m_numbers[attr("expected_orders")] = std::move(expected);
  s.m_texts[attr("rfm")] = std::move(rfm);
  s.m_texts[attr("rfm_segment")] = std::move(segment);
  s.m_texts[attr("lifecycle")] = std::move(lifecycle);
  s.m_texts[attr("value_tier")] = std::move(tier);
  s.m_flags[attr("vip")] = std::move(vip);
  s.m_flags[attr("email_consent")] = std::vector<std::uint8_t>(email_consent.begin(), email_consent.end());
  s.m_flags[attr("sms_consent")] = std::vector<std::uint8_t>(sms_consent.begin(), sms_consent.end());
  return s;
}

std::optional<std::size_t>
CustomerState::index_of(const std::string& customer_id) const
{
  auto it = m_index.find(customer_id);
  return it == m_index.end() ? std::nullopt : std::optional<std::size_t>(it->second);
}

double
CustomerState::number(dsl::AttrId a, std::size_t i) const
{
  auto it = m_numbers.find(a);
  return it == m_numbers.end() ? std::nan("") : it->second[i];
}

std::string_view
CustomerState::text(dsl::AttrId a, std::size_t i) const
{
  auto it = m_texts.find(a);
  return it == m_texts.end() ? std::string_view() : std::string_view(it->second[i]);
}

bool
CustomerState::flag(dsl::AttrId a, std::size_t i) const
{
  auto it = m_flags.find(a);
  return it != m_flags.end() && it->second[i] != 0;
}

std::string_view
CustomerState::profile(const std::string& name, std::size_t i) const
{
  auto it = m_profile.find(name);
  return it == m_profile.end() ? std::string_view() : std::string_view(it->second[i]);
}

double
CustomerFacts::number(dsl::AttrId a) const
{
  if (!is_profile(a)) {
    return m_state.number(a, m_index);
  }
  const auto value = m_state.profile(profile_name(a), m_index);
  if (value.empty()) {
    return std::nan("");
  }
  char* end = nullptr;
  const std::string copy(value);
  const double parsed = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size() ? parsed : std::nan("");
}

std::string_view
CustomerFacts::text(dsl::AttrId a) const
{
  return is_profile(a) ? m_state.profile(profile_name(a), m_index) : m_state.text(a, m_index);
}

bool
CustomerFacts::flag(dsl::AttrId a) const
{
  return is_profile(a) ? m_state.profile(profile_name(a), m_index) == "true" : m_state.flag(a, m_index);
}

} // namespace cvmd
