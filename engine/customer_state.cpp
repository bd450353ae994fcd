#include "engine/customer_state.hpp"

#include "engine/clv.hpp"

#include <algorithm>
#include <future>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace cvmd {

namespace {

dsl::AttrId
attr(std::string_view name)
{
  return static_cast<dsl::AttrId>(*dsl::find_attribute(name));
}

// Resolved once: the snapshot touches these columns per customer.
const dsl::AttrId id_aov = attr("aov");
const dsl::AttrId id_avg_days_between_orders = attr("avg_days_between_orders");
const dsl::AttrId id_clv = attr("clv");
const dsl::AttrId id_days_since_first_order = attr("days_since_first_order");
const dsl::AttrId id_days_since_last_order = attr("days_since_last_order");
const dsl::AttrId id_email_consent = attr("email_consent");
const dsl::AttrId id_expected_orders = attr("expected_orders");
const dsl::AttrId id_f_score = attr("f_score");
const dsl::AttrId id_lifecycle = attr("lifecycle");
const dsl::AttrId id_m_score = attr("m_score");
const dsl::AttrId id_orders = attr("orders");
const dsl::AttrId id_p_alive = attr("p_alive");
const dsl::AttrId id_r_score = attr("r_score");
const dsl::AttrId id_revenue = attr("revenue");
const dsl::AttrId id_rfm = attr("rfm");
const dsl::AttrId id_rfm_segment = attr("rfm_segment");
const dsl::AttrId id_sms_consent = attr("sms_consent");
const dsl::AttrId id_value_tier = attr("value_tier");
const dsl::AttrId id_vip = attr("vip");

constexpr double day = 86400.0;

// Scores 1-5 by quintiles of `value` over `members` (higher value, higher score). Equal
// values get equal scores: the score of the first of them in ascending order, so that
// ties never split and the many one-order customers all get f_score 1.
std::vector<double>
quintile_scores(const std::vector<double>& value, const std::vector<std::size_t>& members)
{
  std::vector<double> score(value.size(), std::nan(""));
  // Sorted as (value, index) pairs: the order a stable sort of the indexes by value gives,
  // without reading the values through the indexes (a merge sort of indexes was a third of
  // the time after reading the store).
  std::vector<std::pair<double, std::size_t>> order;
  order.reserve(members.size());
  for (const auto i : members) {
    order.emplace_back(value[i], i);
  }
  std::sort(order.begin(), order.end());
  const double n = static_cast<double>(order.size());
  std::size_t group_start = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (k > 0 && order[k].first != order[k - 1].first) {
      group_start = k;
    }
    score[order[k].second] = 1 + std::floor(5.0 * static_cast<double>(group_start) / n);
  }
  return score;
}

// Runs `first` on another thread while `second` runs on this one, when there is enough work
// to pay for the thread.
template <typename First, typename Second>
void
both(bool in_parallel, First&& first, Second&& second)
{
  if (!in_parallel) {
    first();
    second();
    return;
  }
  auto other = std::async(std::launch::async, std::forward<First>(first));
  try {
    second();
  } catch (...) {
    other.wait();
    throw;
  }
  other.get();
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

namespace {

const char* const text_attributes[] = {"first_name", "last_name", "email", "phone", "country", "timezone",
                                       "acquisition_channel"};
const char* const derived_numbers[] = {"orders", "revenue", "aov", "days_since_last_order", "days_since_first_order",
                                       "avg_days_between_orders", "r_score", "f_score", "m_score", "clv",
                                       "p_alive", "expected_orders"};
const char* const derived_texts[] = {"rfm", "rfm_segment", "lifecycle", "value_tier"};

template <std::size_t N>
std::vector<dsl::AttrId>
ids_of(const char* const (&names)[N])
{
  std::vector<dsl::AttrId> out;
  for (const auto* name : names) {
    out.push_back(attr(name));
  }
  return out;
}

const std::vector<dsl::AttrId> derived_number_ids = ids_of(derived_numbers);
const std::vector<dsl::AttrId> text_ids = [] {
  auto out = ids_of(derived_texts);
  for (const auto id : ids_of(text_attributes)) {
    out.push_back(id);
  }
  return out;
}();

} // namespace

std::size_t
CustomerState::add_customer(const std::string& customer_id)
{
  const auto i = m_ids.size();
  if (m_indexed) {
    m_index.emplace(customer_id, i);
  }
  m_ids.push_back(customer_id);
  for (const auto id : derived_number_ids) {
    m_numbers[id].push_back(std::nan(""));
  }
  for (const auto id : text_ids) {
    m_texts[id].emplace_back();
  }
  for (const auto id : {id_vip, id_email_consent, id_sms_consent}) {
    m_flags[id].push_back(0);
  }
  for (auto& [name, column] : m_profile) {
    column.emplace_back();
  }
  m_cents.push_back(0);
  m_first_order_at.push_back(0);
  m_last_order_at.push_back(0);
  m_numbers[id_orders][i] = 0;
  m_numbers[id_revenue][i] = 0;
  m_texts[id_lifecycle][i] = "prospect";
  m_texts[id_value_tier][i] = "low";
  return i;
}

const std::vector<double>*
CustomerState::numbers_of(dsl::AttrId a) const
{
  return a < m_numbers.size() && !m_numbers[a].empty() ? &m_numbers[a] : nullptr;
}

const std::vector<std::string>*
CustomerState::texts_of(dsl::AttrId a) const
{
  return a < m_texts.size() && !m_texts[a].empty() ? &m_texts[a] : nullptr;
}

const std::vector<std::uint8_t>*
CustomerState::flags_of(dsl::AttrId a) const
{
  return a < m_flags.size() && !m_flags[a].empty() ? &m_flags[a] : nullptr;
}

const CustomerState::TextCodes*
CustomerState::text_codes(dsl::AttrId a) const
{
  const auto* texts = texts_of(a);
  if (!texts) {
    return nullptr;
  }
  auto& entry = m_codes[a];
  if (entry.codes.size() != texts->size()) {
    entry.dictionary.clear();
    entry.dictionary.emplace(std::string(), 0);
    entry.codes.resize(texts->size());
    for (std::size_t i = 0; i < texts->size(); ++i) {
      entry.codes[i] = entry.dictionary.try_emplace((*texts)[i], static_cast<std::uint32_t>(entry.dictionary.size())).first->second;
    }
  }
  return &entry;
}

std::vector<std::string>
CustomerState::profile_names() const
{
  std::vector<std::string> out;
  for (const auto& [name, column] : m_profile) {
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void
CustomerState::index_all() const
{
  if (m_indexed) {
    return;
  }
  m_index.clear();
  m_index.reserve(m_ids.size());
  for (std::size_t i = 0; i < m_ids.size(); ++i) {
    m_index.emplace(m_ids[i], i);
  }
  m_indexed = true;
}

void
CustomerState::advance_to(std::int64_t at)
{
  m_at = at;
  for (std::size_t i = 0; i < m_ids.size(); ++i) {
    derive(i);
  }
  refresh_rankings();
}

void
CustomerState::reserve(std::size_t customers)
{
  m_ids.reserve(customers);
  for (const auto id : derived_number_ids) {
    m_numbers[id].reserve(customers);
  }
  for (const auto id : text_ids) {
    m_texts[id].reserve(customers);
  }
  m_cents.reserve(customers);
  m_first_order_at.reserve(customers);
  m_last_order_at.reserve(customers);
}

void
CustomerState::keep_only(const std::vector<std::uint8_t>& keep)
{
  const auto compact = [&](auto& column) {
    if (column.empty()) {
      return;
    }
    std::size_t to = 0;
    for (std::size_t i = 0; i < keep.size(); ++i) {
      if (keep[i]) {
        if (to != i) { // a string moved onto itself is left empty
          column[to] = std::move(column[i]);
        }
        ++to;
      }
    }
    column.resize(to);
  };
  for (auto& c : m_numbers) {
    compact(c);
  }
  for (auto& c : m_texts) {
    compact(c);
  }
  for (auto& c : m_flags) {
    compact(c);
  }
  for (auto& [name, c] : m_profile) {
    compact(c);
  }
  compact(m_cents);
  compact(m_first_order_at);
  compact(m_last_order_at);
  compact(m_ids);
  m_index.clear();
  m_indexed = false;
  m_codes.clear();
}

std::size_t
CustomerState::ensure_customer(const std::string& customer_id)
{
  index_all();
  const auto it = m_index.find(customer_id);
  return it == m_index.end() ? add_customer(customer_id) : it->second;
}

bool
CustomerState::has_orders(std::size_t i) const
{
  return m_numbers[id_orders][i] > 0;
}

// An order stamped after the moment counts as that day, not as negative days.
double
CustomerState::days_since_last_order_at(std::size_t i, std::int64_t t) const
{
  return has_orders(i) ? std::max(0.0, std::floor(static_cast<double>(t - m_last_order_at[i]) / day)) : std::nan("");
}

double
CustomerState::days_since_first_order_at(std::size_t i, std::int64_t t) const
{
  return has_orders(i) ? std::max(0.0, std::floor(static_cast<double>(t - m_first_order_at[i]) / day)) : std::nan("");
}

std::string_view
CustomerState::lifecycle_at(std::size_t i, std::int64_t t) const
{
  if (!has_orders(i)) {
    return "prospect";
  }
  const double since_last = days_since_last_order_at(i, t);
  return since_last > m_config.inactive_after_days ? "inactive"
         : since_last > m_config.lapsing_after_days ? "lapsing"
         : days_since_first_order_at(i, t) <= m_config.new_days ? "new"
                                                                : "active";
}

void
CustomerState::derive(std::size_t i)
{
  m_codes.clear(); // the lifecycle may change
  const double orders = m_numbers[id_orders][i];
  m_numbers[id_revenue][i] = static_cast<double>(m_cents[i]) / 100.0;
  if (orders == 0) {
    m_texts[id_lifecycle][i] = "prospect";
    return;
  }
  m_numbers[id_aov][i] = m_numbers[id_revenue][i] / orders;
  m_numbers[id_days_since_last_order][i] = days_since_last_order_at(i, m_at);
  m_numbers[id_days_since_first_order][i] = days_since_first_order_at(i, m_at);
  m_numbers[id_avg_days_between_orders][i] =
    orders >= 2 ? static_cast<double>(m_last_order_at[i] - m_first_order_at[i]) / day / (orders - 1) : std::nan("");
  m_texts[id_lifecycle][i] = lifecycle_at(i, m_at);
}

void
CustomerState::add_order(const OrderRow& order)
{
  index_all();
  auto it = m_index.find(order.customer_id);
  const auto i = it == m_index.end() ? add_customer(order.customer_id) : it->second;
  auto& orders = m_numbers[id_orders][i];
  if (orders == 0 || order.ordered_at < m_first_order_at[i]) {
    m_first_order_at[i] = order.ordered_at;
  }
  if (orders == 0 || order.ordered_at > m_last_order_at[i]) {
    m_last_order_at[i] = order.ordered_at;
  }
  orders += 1;
  m_cents[i] += order.amount_cents;
  derive(i);
}

void
CustomerState::refresh_rankings()
{
  m_codes.clear();
  const auto n = m_ids.size();
  const auto& orders = m_numbers[id_orders];
  const auto& revenue = m_numbers[id_revenue];
  const auto& since_last = m_numbers[id_days_since_last_order];
  std::vector<std::size_t> buyers;
  for (std::size_t i = 0; i < n; ++i) {
    if (orders[i] > 0) {
      buyers.push_back(i);
    }
  }
  // Recency scores: fewer days since the last order is better, so score the negation.
  std::vector<double> recency_value(n, 0);
  for (auto i : buyers) {
    recency_value[i] = -since_last[i];
  }
  // The four rankings are independent: two threads from 50,000 buyers.
  std::vector<std::size_t> by_revenue;
  both(
    buyers.size() >= 50000,
    [&] {
      m_numbers[id_r_score] = quintile_scores(recency_value, buyers);
      m_numbers[id_f_score] = quintile_scores(orders, buyers);
    },
    [&] {
      m_numbers[id_m_score] = quintile_scores(revenue, buyers);
      // Best first; equal revenue in index order (what a stable sort gives).
      std::vector<std::pair<double, std::size_t>> pairs;
      pairs.reserve(buyers.size());
      for (const auto i : buyers) {
        pairs.emplace_back(-revenue[i], i);
      }
      std::sort(pairs.begin(), pairs.end());
      by_revenue.reserve(pairs.size());
      for (const auto& [negated, i] : pairs) {
        by_revenue.push_back(i);
      }
    });
  const auto& r = m_numbers[id_r_score];
  const auto& f = m_numbers[id_f_score];
  const auto& m = m_numbers[id_m_score];
  auto& rfm = m_texts[id_rfm];
  auto& segment = m_texts[id_rfm_segment];
  auto& tier = m_texts[id_value_tier];
  auto& vip = m_flags[id_vip];
  for (std::size_t i = 0; i < n; ++i) {
    rfm[i].clear();
    segment[i].clear();
    tier[i] = "low";
    vip[i] = 0;
  }
  for (auto i : buyers) {
    const int ri = static_cast<int>(r[i]), fi = static_cast<int>(f[i]), mi = static_cast<int>(m[i]);
    const char digits[] = {static_cast<char>('0' + ri), static_cast<char>('0' + fi), static_cast<char>('0' + mi)};
    rfm[i].assign(digits, 3); // scores are 1-5
    segment[i] = rfm_segment_for(ri, fi, mi);
  }

  // VIP: the top vip_top_percent of buyers by revenue (ties at the threshold included).
  if (!by_revenue.empty()) {
    const auto count = static_cast<std::size_t>(
      std::ceil(static_cast<double>(by_revenue.size()) * m_config.vip_top_percent / 100.0));
    if (count > 0) {
      const double threshold = revenue[by_revenue[std::min(count, by_revenue.size()) - 1]];
      for (auto i : buyers) {
        vip[i] = revenue[i] >= threshold ? 1 : 0;
      }
    }
  }
  // Value tiers by share of revenue, best customers first: those who bring the first 50%
  // are high, the next 30% medium, the rest (and prospects) low. Equal revenue, equal tier.
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
}

namespace {

// What the snapshot keeps of one customer's orders while the customers are read.
struct Totals
{
  std::string customer_id;
  std::int64_t orders = 0;
  std::int64_t cents = 0;
  std::int64_t first_at = 0;
  std::int64_t last_at = 0;
  bool later = false;
};

std::vector<Totals>
read_totals(const Store& store, std::int64_t at, std::size_t expected)
{
  std::vector<Totals> out;
  out.reserve(expected);
  store.for_each_order_totals(at, [&](const OrderTotals& t) {
    out.push_back({std::string(t.customer_id), t.orders, t.cents, t.first_at, t.last_at, t.later});
  });
  return out;
}

} // namespace

CustomerState
CustomerState::build(const Store& store, std::int64_t at, const MetricsConfig& config)
{
  CustomerState s;
  s.m_config = config;
  s.m_at = at;
  const auto columns = dsl::attributes().size();
  s.m_numbers.resize(columns);
  s.m_texts.resize(columns);
  s.m_flags.resize(columns);
  const auto customer_count = static_cast<std::size_t>(store.customer_count());
  // The orders, summed per customer, are read on a second connection while this one reads
  // the customers: the two scans took about the same time one after the other.
  auto second =
    customer_count >= config.two_readers_from ? store.reader() : Result<std::unique_ptr<Store>>::failure("");
  std::future<std::vector<Totals>> totals_read;
  if (second) {
    totals_read = std::async(std::launch::async, [&] { return read_totals(**second, at, customer_count); });
  }
  // The store's customer fields in its order, each with its column here.
  std::vector<std::vector<std::string>*> field_columns;
  for (const auto& name : customer_fields()) {
    field_columns.push_back(&s.m_texts[attr(name)]);
  }
  auto& email_consent = s.m_flags[id_email_consent];
  auto& sms_consent = s.m_flags[id_sms_consent];
  s.reserve(customer_count);
  try {
    store.for_each_customer_view([&](const CustomerView& c) {
      const auto i = s.add_customer(std::string(c.customer_id));
      for (std::size_t k = 0; k < field_columns.size(); ++k) {
        if (c.fields[k]) {
          (*field_columns[k])[i].assign(*c.fields[k]);
        }
      }
      email_consent[i] = c.email_consent ? 1 : 0;
      sms_consent[i] = c.sms_consent ? 1 : 0;
      for (const auto& [name, value] : c.profile) {
        auto& column = s.m_profile[name];
        column.resize(s.m_ids.size());
        column[i] = value;
      }
    });
  } catch (...) {
    if (totals_read.valid()) {
      totals_read.wait(); // it reads through `second`, which must outlive it
    }
    throw;
  }
  for (auto& [name, column] : s.m_profile) {
    column.resize(s.m_ids.size());
  }
  const auto totals = totals_read.valid() ? totals_read.get() : read_totals(store, at, customer_count);

  // Customers and totals both come in key order: walk them together instead of a hash
  // lookup per customer. Totals cover all orders, so that customers who only bought after
  // `at` are seen too: they were not customers yet and leave the snapshot below.
  // (Customers without any order have no date of their own and are prospects at every `at`.)
  auto& orders = s.m_numbers[id_orders];
  const auto n = s.m_ids.size();
  std::vector<std::uint8_t> bought_later(n, 0);
  bool any_later = false;
  std::size_t cursor = 0;
  for (const auto& t : totals) {
    while (cursor < n && s.m_ids[cursor] < t.customer_id) {
      ++cursor;
    }
    if (cursor >= n || s.m_ids[cursor] != t.customer_id) {
      throw std::runtime_error("order of customer '" + t.customer_id + "' out of key order or without its customer");
    }
    const auto i = cursor;
    if (t.later) {
      bought_later[i] = 1;
      any_later = true;
    }
    if (t.orders > 0) {
      orders[i] = static_cast<double>(t.orders);
      s.m_first_order_at[i] = t.first_at;
      s.m_last_order_at[i] = t.last_at;
      s.m_cents[i] = t.cents; // summed exactly: 0.10 + 0.20 ties with 0.30
    }
  }
  if (any_later && !config.keep_later_buyers) {
    std::vector<std::uint8_t> keep(s.m_ids.size(), 1);
    for (std::size_t i = 0; i < n; ++i) {
      keep[i] = bought_later[i] && orders[i] == 0 ? 0 : 1;
    }
    s.keep_only(keep);
  }
  for (std::size_t i = 0; i < s.m_ids.size(); ++i) {
    s.derive(i);
  }
  s.refresh_rankings();

  if (config.predict_clv) {
    auto& clv_column = s.m_numbers[id_clv];
    auto& alive = s.m_numbers[id_p_alive];
    auto& expected = s.m_numbers[id_expected_orders];
    // Weekly, as in the models' literature; prospects have nothing to predict from.
    const auto summaries = summarize_purchases(store, at, 7);
    const auto purchases = fit_bgnbd(summaries);
    const auto value = fit_gamma_gamma(summaries);
    ClvSettings settings;
    settings.period_days = 7;
    settings.horizon_periods = std::max(1.0, std::round(config.clv_horizon_days / 7));
    settings.annual_discount_rate = config.clv_discount_rate;
    for (const auto& c : summaries) {
      s.index_all();
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
  return s;
}

std::optional<std::size_t>
CustomerState::index_of(const std::string& customer_id) const
{
  index_all();
  auto it = m_index.find(customer_id);
  return it == m_index.end() ? std::nullopt : std::optional<std::size_t>(it->second);
}

double
CustomerState::number(dsl::AttrId a, std::size_t i) const
{
  return a < m_numbers.size() && !m_numbers[a].empty() ? m_numbers[a][i] : std::nan("");
}

std::string_view
CustomerState::text(dsl::AttrId a, std::size_t i) const
{
  return a < m_texts.size() && !m_texts[a].empty() ? std::string_view(m_texts[a][i]) : std::string_view();
}

bool
CustomerState::flag(dsl::AttrId a, std::size_t i) const
{
  return a < m_flags.size() && !m_flags[a].empty() && m_flags[a][i] != 0;
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
