#pragma once
// The customer state scenarios are evaluated against: one snapshot as of a moment, held
// as columns (struct of arrays), with the metrics, RFM scores and segments of every
// customer. Definitions and thresholds are documented in docs/metrics.md.

#include "dsl/dsl.hpp"
#include "engine/store.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace cvmd {

struct MetricsConfig
{
  int new_days = 30;
  int lapsing_after_days = 60;
  int inactive_after_days = 180;
  double vip_top_percent = 5;
  double clv_horizon_days = 365;
  double clv_discount_rate = 0.10; // per year
  bool predict_clv = true;          // fit BG/NBD + Gamma-Gamma when building a snapshot
  std::size_t two_readers_from = 200000; // from this many customers, orders are summed on a second connection meanwhile
  // Customers whose orders all come after `at` stay in the snapshot as prospects (for
  // `cvmd run`, where those orders arrive as the cycle goes); else they are not customers yet.
  bool keep_later_buyers = false;
};

class CustomerState
{
public:
  static CustomerState build(const Store& store, std::int64_t at, const MetricsConfig& config);

  std::size_t size() const { return m_ids.size(); }
  std::int64_t at() const { return m_at; }
  const std::string& id(std::size_t i) const { return m_ids[i]; }
  std::optional<std::size_t> index_of(const std::string& customer_id) const;

  double number(dsl::AttrId attr, std::size_t i) const;
  // Whole columns for evaluating over every customer at once; nullptr when the snapshot
  // does not hold the attribute (every value unknown).
  const std::vector<double>* numbers_of(dsl::AttrId attr) const;
  const std::vector<std::string>* texts_of(dsl::AttrId attr) const;
  const std::vector<std::uint8_t>* flags_of(dsl::AttrId attr) const;
  // A text column as codes: equal texts, equal codes; the empty text is code 0. Built on
  // first use and again after any change, so that a condition over every customer
  // compares integers instead of strings.
  struct TextCodes
  {
    std::vector<std::uint32_t> codes;
    std::unordered_map<std::string, std::uint32_t> dictionary;
  };
  const TextCodes* text_codes(dsl::AttrId attr) const;
  std::string_view text(dsl::AttrId attr, std::size_t i) const;
  bool flag(dsl::AttrId attr, std::size_t i) const;
  // Profile fields by name (the program maps its profile AttrIds to these).
  std::string_view profile(const std::string& name, std::size_t i) const;
  std::vector<std::string> profile_names() const;

  std::int64_t first_order_at(std::size_t i) const { return m_first_order_at[i]; }
  std::int64_t last_order_at(std::size_t i) const { return m_last_order_at[i]; }

  // A new order, in O(1): the customer's counts, recency, tenure, AOV and lifecycle stage
  // follow at once (a new customer is added). Scores, RFM segments, VIP and value tiers
  // rank customers against each other: they follow on refresh_rankings().
  void add_order(const OrderRow& order);
  // Recomputes r/f/m scores, rfm, rfm_segment, vip and value_tier from the current columns.
  void refresh_rankings();
  // Moves the snapshot's moment: every customer's time-dependent values follow, then the
  // rankings (the orchestrator's scheduled refresh).
  void advance_to(std::int64_t at);
  // The customer's index, adding a prospect when the id is new (an event for an unknown
  // customer is kept, not lost).
  std::size_t ensure_customer(const std::string& customer_id);

  // The time-dependent attributes at another moment than the snapshot's (the orchestrator
  // evaluates each customer at their own due times): NaN / "prospect" without orders.
  double days_since_last_order_at(std::size_t i, std::int64_t t) const;
  double days_since_first_order_at(std::size_t i, std::int64_t t) const;
  std::string_view lifecycle_at(std::size_t i, std::int64_t t) const;
  bool has_orders(std::size_t i) const;
  const MetricsConfig& config() const { return m_config; }

private:
  std::size_t add_customer(const std::string& customer_id);
  void keep_only(const std::vector<std::uint8_t>& keep); // drops the rows marked 0
  void reserve(std::size_t customers);
  void derive(std::size_t i); // the per-customer metrics from counts and times

  MetricsConfig m_config;
  std::int64_t m_at = 0;
  std::vector<std::string> m_ids;
  // Built on first lookup: a listing of every customer never needs it, and a million
  // string keys cost more than a second.
  mutable std::unordered_map<std::string, std::size_t> m_index;
  mutable bool m_indexed = false;
  void index_all() const;
  // One column per attribute, indexed by AttrId; an empty column is an attribute the
  // snapshot does not hold (its values are unknown).
  std::vector<std::vector<double>> m_numbers;
  std::vector<std::vector<std::string>> m_texts;
  std::vector<std::vector<std::uint8_t>> m_flags;
  std::unordered_map<std::string, std::vector<std::string>> m_profile;
  std::vector<std::int64_t> m_cents; // revenue in cents, summed exactly
  mutable std::unordered_map<dsl::AttrId, TextCodes> m_codes; // text_codes(), empty until used
  std::vector<std::int64_t> m_first_order_at;
  std::vector<std::int64_t> m_last_order_at;
};

// One customer of a snapshot as the dsl sees it. Event history is not part of the
// snapshot yet: event predicates are false.
class CustomerFacts : public dsl::Facts
{
public:
  CustomerFacts(const CustomerState& state, const dsl::Program& program, std::size_t index)
    : m_state(state), m_program(program), m_index(index)
  {
  }
  void move_to(std::size_t index) { m_index = index; }

  double number(dsl::AttrId attr) const override;
  std::string_view text(dsl::AttrId attr) const override;
  bool flag(dsl::AttrId attr) const override;
  bool event(const dsl::EventQuery&) const override { return false; }

private:
  bool is_profile(dsl::AttrId attr) const { return attr >= dsl::attributes().size(); }
  const std::string& profile_name(dsl::AttrId attr) const
  {
    return m_program.profile_fields[attr - dsl::attributes().size()];
  }

  const CustomerState& m_state;
  const dsl::Program& m_program;
  std::size_t m_index;
};

// The RFM segment for scores 1-5 (docs/metrics.md has the table).
const char* rfm_segment_for(int r, int f, int m);

} // namespace cvmd
