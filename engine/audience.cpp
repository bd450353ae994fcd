#include "engine/audience.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace cvmd {

namespace {

using Mask = std::vector<std::uint8_t>;

template <typename Compare>
void
compare_column(const std::vector<double>* column, Mask& out, Compare&& compare)
{
  if (!column) {
    std::fill(out.begin(), out.end(), 0); // unknown everywhere: every comparison is false
    return;
  }
  const double* v = column->data();
  std::uint8_t* o = out.data();
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; ++i) {
    o[i] = compare(v[i]) ? 1 : 0; // NaN compares false, as in dsl::evaluate
  }
}

class ColumnEvaluator
{
public:
  ColumnEvaluator(const dsl::Program& program, const CustomerState& state) : m_program(program), m_state(state) {}

  Mask evaluate(const dsl::Condition& c)
  {
    if (c.always()) {
      return Mask(m_state.size(), 1);
    }
    return node(c, 0);
  }

private:
  Mask node(const dsl::Condition& c, std::size_t at)
  {
    const auto& n = c.nodes[at];
    const std::size_t size = m_state.size();
    if (n.attr >= dsl::attributes().size() || n.attr2 >= dsl::attributes().size() || n.kind == dsl::NodeKind::event) {
      if (n.kind != dsl::NodeKind::all && n.kind != dsl::NodeKind::any && n.kind != dsl::NodeKind::negate &&
          n.kind != dsl::NodeKind::segment && n.kind != dsl::NodeKind::constant) {
        return per_customer(c, at);
      }
    }
    Mask out = take();
    switch (n.kind) {
    case dsl::NodeKind::constant:
      std::fill(out.begin(), out.end(), n.number != 0 ? 1 : 0);
      break;
    case dsl::NodeKind::all:
    case dsl::NodeKind::any: {
      const bool all = n.kind == dsl::NodeKind::all;
      std::fill(out.begin(), out.end(), all ? 1 : 0);
      for (std::size_t child = at + 1; child < at + n.size; child += c.nodes[child].size) {
        auto m = node(c, child);
        std::uint8_t* o = out.data();
        const std::uint8_t* v = m.data();
        if (all) {
          for (std::size_t i = 0; i < size; ++i) {
            o[i] &= v[i];
          }
        } else {
          for (std::size_t i = 0; i < size; ++i) {
            o[i] |= v[i];
          }
        }
        give(std::move(m));
      }
      break;
    }
    case dsl::NodeKind::negate:
      give(std::move(out));
      out = node(c, at + 1);
      for (auto& v : out) {
        v ^= 1;
      }
      break;
    case dsl::NodeKind::compare_number: {
      const double x = n.number;
      const auto* column = m_state.numbers_of(n.attr);
      switch (n.op) {
      case dsl::CompareOp::eq:
        compare_column(column, out, [x](double v) { return v == x; });
        break;
      case dsl::CompareOp::ne:
        compare_column(column, out, [x](double v) { return !std::isnan(v) && v != x; });
        break;
      case dsl::CompareOp::lt:
        compare_column(column, out, [x](double v) { return v < x; });
        break;
      case dsl::CompareOp::le:
        compare_column(column, out, [x](double v) { return v <= x; });
        break;
      case dsl::CompareOp::gt:
        compare_column(column, out, [x](double v) { return v > x; });
        break;
      case dsl::CompareOp::ge:
        compare_column(column, out, [x](double v) { return v >= x; });
        break;
      }
      break;
    }
    case dsl::NodeKind::compare_text:
    case dsl::NodeKind::in_text: {
      // A table from code to match: the column's dictionary is small for the attributes
      // conditions compare (lifecycle, segments, countries, channels).
      const auto* t = m_state.text_codes(n.attr);
      const std::uint32_t values = n.kind == dsl::NodeKind::in_text ? n.count : 1;
      const bool negate = n.kind == dsl::NodeKind::compare_text && n.op == dsl::CompareOp::ne;
      std::vector<std::uint8_t> matches(t ? t->dictionary.size() : 1, negate ? 1 : 0);
      for (std::uint32_t k = 0; k < values; ++k) {
        const auto code = code_of(t, m_program.strings[n.text + k]);
        if (code < matches.size()) {
          matches[code] = negate ? 0 : 1;
        }
      }
      if (!t) {
        std::fill(out.begin(), out.end(), matches[0]);
        break;
      }
      const std::uint32_t* codes = t->codes.data();
      const std::uint8_t* table = matches.data();
      std::uint8_t* o = out.data();
      for (std::size_t i = 0; i < size; ++i) {
        o[i] = table[codes[i]];
      }
      break;
    }
    case dsl::NodeKind::flag:
      if (const auto* column = m_state.flags_of(n.attr)) {
        for (std::size_t i = 0; i < size; ++i) {
          out[i] = (*column)[i] != 0 ? 1 : 0;
        }
      } else {
        std::fill(out.begin(), out.end(), 0);
      }
      break;
    case dsl::NodeKind::segment: {
      const auto& m = segment(n.text);
      std::copy(m.begin(), m.end(), out.begin());
      break;
    }
    default: // compare_attrs, compare_text_attrs, in_number: rare, exact per customer
      give(std::move(out));
      return per_customer(c, at);
    }
    return out;
  }

  // The code of a text in a column; a text the column never holds gets a code no customer
  // has. A missing column holds only the empty text (code 0).
  static std::uint32_t code_of(const CustomerState::TextCodes* t, std::string_view value)
  {
    constexpr auto nowhere = std::numeric_limits<std::uint32_t>::max();
    if (!t) {
      return value.empty() ? 0 : nowhere;
    }
    const auto found = t->dictionary.find(std::string(value));
    return found == t->dictionary.end() ? nowhere : found->second;
  }

  const Mask& segment(std::uint32_t index)
  {
    if (m_segments.size() <= index) {
      m_segments.resize(m_program.segments.size());
      m_done.resize(m_program.segments.size(), false);
    }
    if (!m_done[index]) {
      m_segments[index] = evaluate(m_program.segments[index]);
      m_done[index] = true;
    }
    return m_segments[index];
  }

  // One subtree through dsl::evaluate, customer by customer.
  Mask per_customer(const dsl::Condition& c, std::size_t at)
  {
    dsl::Condition sub;
    sub.nodes.assign(c.nodes.begin() + static_cast<std::ptrdiff_t>(at),
                     c.nodes.begin() + static_cast<std::ptrdiff_t>(at + c.nodes[at].size));
    Mask out(m_state.size(), 0);
    CustomerFacts facts(m_state, m_program, 0);
    for (std::size_t i = 0; i < m_state.size(); ++i) {
      facts.move_to(i);
      out[i] = dsl::evaluate(sub, m_program, facts) ? 1 : 0;
    }
    return out;
  }

  // Masks are reused: at a million customers each is a megabyte, and fresh ones would cost
  // an allocation and page faults per node.
  Mask take()
  {
    if (m_free.empty()) {
      return Mask(m_state.size());
    }
    auto m = std::move(m_free.back());
    m_free.pop_back();
    return m;
  }
  void give(Mask&& m) { m_free.push_back(std::move(m)); }

  const dsl::Program& m_program;
  const CustomerState& m_state;
  std::vector<Mask> m_free;
  std::vector<Mask> m_segments;
  std::vector<bool> m_done;
};

} // namespace

std::vector<std::uint8_t>
audience(const dsl::Condition& condition, const dsl::Program& program, const CustomerState& state)
{
  return ColumnEvaluator(program, state).evaluate(condition);
}

} // namespace cvmd
