#include "engine/audience.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace cvmd {

namespace {

// Customers are taken in blocks: every node's mask for a block stays in the L1 cache while
// the tree is walked, so a condition costs one pass over the columns it reads.
constexpr std::size_t block = 2048;

using Mask = std::vector<std::uint8_t>;

template <typename Compare>
void
compare_column(const std::vector<double>* column, std::size_t begin, std::size_t count, std::uint8_t* out,
               Compare&& compare)
{
  if (!column) {
    std::fill(out, out + count, 0); // unknown everywhere: every comparison is false
    return;
  }
  const double* v = column->data() + begin;
  for (std::size_t i = 0; i < count; ++i) {
    out[i] = compare(v[i]) ? 1 : 0; // NaN compares false, as in dsl::evaluate
  }
}

class ColumnEvaluator
{
public:
  ColumnEvaluator(const dsl::Program& program, const CustomerState& state) : m_program(program), m_state(state) {}

  Mask evaluate(const dsl::Condition& c)
  {
    Mask out(m_state.size(), 1);
    if (c.always()) {
      return out;
    }
    for (std::size_t begin = 0; begin < out.size(); begin += block) {
      const auto count = std::min(block, out.size() - begin);
      node(c, 0, begin, count, out.data() + begin);
    }
    return out;
  }

private:
  // Writes the subtree's value for customers [begin, begin + count) to out.
  void node(const dsl::Condition& c, std::size_t at, std::size_t begin, std::size_t count, std::uint8_t* out)
  {
    const auto& n = c.nodes[at];
    const bool builtin = n.attr < dsl::attributes().size() && n.attr2 < dsl::attributes().size();
    switch (n.kind) {
    case dsl::NodeKind::constant:
      std::fill(out, out + count, n.number != 0 ? 1 : 0);
      return;
    case dsl::NodeKind::all:
    case dsl::NodeKind::any: {
      const bool all = n.kind == dsl::NodeKind::all;
      std::fill(out, out + count, all ? 1 : 0);
      auto scratch = take();
      for (std::size_t child = at + 1; child < at + n.size; child += c.nodes[child].size) {
        node(c, child, begin, count, scratch.data());
        const std::uint8_t* v = scratch.data();
        if (all) {
          for (std::size_t i = 0; i < count; ++i) {
            out[i] &= v[i];
          }
        } else {
          for (std::size_t i = 0; i < count; ++i) {
            out[i] |= v[i];
          }
        }
      }
      give(std::move(scratch));
      return;
    }
    case dsl::NodeKind::negate:
      node(c, at + 1, begin, count, out);
      for (std::size_t i = 0; i < count; ++i) {
        out[i] ^= 1;
      }
      return;
    case dsl::NodeKind::segment:
      if (m_program.segments[n.text].always()) {
        std::fill(out, out + count, 1);
      } else {
        node(m_program.segments[n.text], 0, begin, count, out);
      }
      return;
    case dsl::NodeKind::compare_number:
      if (builtin) {
        return compare_number(n, begin, count, out);
      }
      break;
    case dsl::NodeKind::compare_text:
    case dsl::NodeKind::in_text:
      if (builtin) {
        return compare_text(n, begin, count, out);
      }
      break;
    case dsl::NodeKind::flag:
      if (builtin) {
        if (const auto* column = m_state.flags_of(n.attr)) {
          const std::uint8_t* v = column->data() + begin;
          for (std::size_t i = 0; i < count; ++i) {
            out[i] = v[i] != 0 ? 1 : 0;
          }
        } else {
          std::fill(out, out + count, 0);
        }
        return;
      }
      break;
    default: // events, comparisons between attributes, numbers in a list: rare
      break;
    }
    per_customer(c, at, begin, count, out); // and profile fields: exact, one by one
  }

  void compare_number(const dsl::Node& n, std::size_t begin, std::size_t count, std::uint8_t* out)
  {
    const double x = n.number;
    const auto* column = m_state.numbers_of(n.attr);
    switch (n.op) {
    case dsl::CompareOp::eq:
      return compare_column(column, begin, count, out, [x](double v) { return v == x; });
    case dsl::CompareOp::ne:
      return compare_column(column, begin, count, out, [x](double v) { return !std::isnan(v) && v != x; });
    case dsl::CompareOp::lt:
      return compare_column(column, begin, count, out, [x](double v) { return v < x; });
    case dsl::CompareOp::le:
      return compare_column(column, begin, count, out, [x](double v) { return v <= x; });
    case dsl::CompareOp::gt:
      return compare_column(column, begin, count, out, [x](double v) { return v > x; });
    case dsl::CompareOp::ge:
      return compare_column(column, begin, count, out, [x](double v) { return v >= x; });
    }
  }

  // Through a table from text code to outcome: equal texts have equal codes.
  void compare_text(const dsl::Node& n, std::size_t begin, std::size_t count, std::uint8_t* out)
  {
    const auto* t = m_state.text_codes(n.attr);
    const std::uint32_t values = n.kind == dsl::NodeKind::in_text ? n.count : 1;
    const bool negate = n.kind == dsl::NodeKind::compare_text && n.op == dsl::CompareOp::ne;
    auto& table = m_tables[&n];
    if (table.empty()) {
      table.assign(t ? t->dictionary.size() : 1, negate ? 1 : 0);
      for (std::uint32_t k = 0; k < values; ++k) {
        const auto code = code_of(t, m_program.strings[n.text + k]);
        if (code < table.size()) {
          table[code] = negate ? 0 : 1;
        }
      }
    }
    if (!t) {
      std::fill(out, out + count, table[0]);
      return;
    }
    const std::uint32_t* codes = t->codes.data() + begin;
    const std::uint8_t* outcome = table.data();
    for (std::size_t i = 0; i < count; ++i) {
      out[i] = outcome[codes[i]];
    }
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

  // One subtree through dsl::evaluate, customer by customer.
  void per_customer(const dsl::Condition& c, std::size_t at, std::size_t begin, std::size_t count, std::uint8_t* out)
  {
    auto& sub = m_subtrees[&c.nodes[at]];
    if (sub.nodes.empty()) {
      sub.nodes.assign(c.nodes.begin() + static_cast<std::ptrdiff_t>(at),
                       c.nodes.begin() + static_cast<std::ptrdiff_t>(at + c.nodes[at].size));
    }
    CustomerFacts facts(m_state, m_program, begin);
    for (std::size_t i = 0; i < count; ++i) {
      facts.move_to(begin + i);
      out[i] = dsl::evaluate(sub, m_program, facts) ? 1 : 0;
    }
  }

  Mask take()
  {
    if (m_free.empty()) {
      return Mask(block);
    }
    auto m = std::move(m_free.back());
    m_free.pop_back();
    return m;
  }
  void give(Mask&& m) { m_free.push_back(std::move(m)); }

  const dsl::Program& m_program;
  const CustomerState& m_state;
  std::vector<Mask> m_free;
  std::unordered_map<const dsl::Node*, std::vector<std::uint8_t>> m_tables;
  std::unordered_map<const dsl::Node*, dsl::Condition> m_subtrees;
};

} // namespace

std::vector<std::uint8_t>
audience(const dsl::Condition& condition, const dsl::Program& program, const CustomerState& state)
{
  return ColumnEvaluator(program, state).evaluate(condition);
}

} // namespace cvmd
