#pragma once
// One customer as the dsl sees them at a given moment: the snapshot's values, with the
// time-dependent ones (days since the last and first order, lifecycle) computed for that
// moment, and event predicates answered from the customer's history. Inside an enrollment,
// an event predicate without `within` counts from the entry.

#include "engine/customer_state.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cvmd {

class MomentFacts : public dsl::Facts
{
public:
  struct Event
  {
    std::string type; // event type; for messages received: the template
    std::string name; // opened/clicked: the template; unsubscribed: the channel
    std::int64_t at = 0;
  };

  MomentFacts(const CustomerState& state, const dsl::Program& program, std::size_t index, std::int64_t at)
    : m_state(state), m_base(state, program, index), m_index(index), m_at(at)
  {
  }
  void set_history(const std::vector<Event>* events, const std::vector<Event>* received)
  {
    m_events = events;
    m_received = received;
  }
  void set_entry(std::int64_t entered_at) { m_entered_at = entered_at; }

  double number(dsl::AttrId attr) const override;
  std::string_view text(dsl::AttrId attr) const override;
  bool flag(dsl::AttrId attr) const override { return m_base.flag(attr); }
  bool event(const dsl::EventQuery& query) const override;

private:
  bool in_window(std::int64_t t, const dsl::EventQuery& query) const;

  const CustomerState& m_state;
  CustomerFacts m_base;
  std::size_t m_index;
  std::int64_t m_at;
  std::optional<std::int64_t> m_entered_at;
  const std::vector<Event>* m_events = nullptr;
  const std::vector<Event>* m_received = nullptr;
};

} // namespace cvmd
