#include "engine/moment_facts.hpp"

#include <algorithm>

namespace cvmd {

namespace {

dsl::AttrId
attr(const char* name)
{
  return static_cast<dsl::AttrId>(*dsl::find_attribute(name));
}

} // namespace

double
MomentFacts::number(dsl::AttrId a) const
{
  static const auto since_last = attr("days_since_last_order");
  static const auto since_first = attr("days_since_first_order");
  if (a == since_last) {
    return m_state.days_since_last_order_at(m_index, m_at);
  }
  if (a == since_first) {
    return m_state.days_since_first_order_at(m_index, m_at);
  }
  return m_base.number(a);
}

std::string_view
MomentFacts::text(dsl::AttrId a) const
{
  static const auto lifecycle = attr("lifecycle");
  return a == lifecycle ? m_state.lifecycle_at(m_index, m_at) : m_base.text(a);
}

bool
MomentFacts::in_window(std::int64_t t, const dsl::EventQuery& q) const
{
  if (t > m_at) {
    return false;
  }
  if (q.within_seconds > 0) {
    return t >= m_at - q.within_seconds;
  }
  // Since entry; outside a scenario: ever. The event that started the enrollment is not
  // "since entry", but a message sent at that very moment (a first step without delay) is.
  return !m_entered_at || t > *m_entered_at || (q.kind == dsl::EventKind::received && t == *m_entered_at);
}

bool
MomentFacts::event(const dsl::EventQuery& q) const
{
  const auto any = [&](const std::vector<Event>* list, auto&& match) {
    return list && std::any_of(list->begin(), list->end(), [&](const Event& e) { return match(e) && in_window(e.at, q); });
  };
  switch (q.kind) {
  case dsl::EventKind::ordered:
    return m_state.has_orders(m_index) && in_window(m_state.last_order_at(m_index), q);
  case dsl::EventKind::received:
    return any(m_received, [&](const Event& e) { return q.name.empty() || e.type == q.name; });
  case dsl::EventKind::opened:
  case dsl::EventKind::clicked: {
    const std::string_view type = q.kind == dsl::EventKind::opened ? "opened" : "clicked";
    return any(m_events, [&](const Event& e) { return e.type == type && (q.name.empty() || e.name == q.name); });
  }
  case dsl::EventKind::unsubscribed:
    return any(m_events, [&](const Event& e) { return e.type == "unsubscribed"; });
  case dsl::EventKind::did:
    return any(m_events, [&](const Event& e) { return e.type == q.name; });
  }
  return false;
}

} // namespace cvmd
