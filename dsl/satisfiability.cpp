#include "satisfiability.hpp"

#include "keywords.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <vector>

namespace cvmd::dsl {

namespace {

// One constraint on one attribute. Trivially copyable: normal forms are copied a lot.
struct Atom
{
  enum class Kind { number, text, boolean } kind = Kind::number;
  std::string_view attribute; // the resolver's lower-case name or the catalogue's
  std::string_view op;        // number: = != < <= > >=; text: in / not in
  double number = 0;
  std::string_view text;                          // a single text value, or
  const std::vector<ast::Operand>* list = nullptr; // the texts of an `in (...)` list
  bool flag = true;

  template<typename F>
  void for_each_text(F f) const
  {
    if (!list) {
      f(text);
      return;
    }
    for (const auto& v : *list) {
      f(std::string_view(boost::get<ast::String>(v).value));
    }
  }
};

using Conjunction = std::vector<Atom>;
using Dnf = std::vector<Conjunction>;

constexpr std::size_t max_terms = 256;
constexpr int max_depth = 16;

const Dnf unknown = {Conjunction{}}; // no constraint: possibly true

Dnf
product(Dnf a, const Dnf& b)
{
  if (b.size() == 1) {
    // The common case, `x and y`: extend in place instead of copying every conjunction.
    for (auto& c : a) {
      c.insert(c.end(), b.front().begin(), b.front().end());
    }
    return a;
  }
  if (a.size() * b.size() > max_terms) {
    return unknown;
  }
  Dnf out;
  for (const auto& x : a) {
    for (const auto& y : b) {
      Conjunction c = x;
      c.insert(c.end(), y.begin(), y.end());
      out.push_back(std::move(c));
    }
  }
  return out;
}

Dnf
sum(Dnf a, const Dnf& b)
{
  a.insert(a.end(), b.begin(), b.end());
  return a.size() > max_terms ? unknown : a;
}

std::string_view
negate_op(std::string_view op)
{
  if (op == "=") return "!=";
  if (op == "!=") return "=";
  if (op == "<") return ">=";
  if (op == "<=") return ">";
  if (op == ">") return "<=";
  return "<"; // >=
}

class Converter
{
public:
  explicit Converter(const Symbols& symbols) : m_symbols(symbols) {}

  Dnf expr(const ast::Expr& e, bool negated, int depth)
  {
    if (depth > max_depth) {
      return unknown;
    }
    Dnf out = negated ? Dnf{Conjunction{}} : Dnf{};
    for (const auto& c : e.terms) {
      auto d = conjunction(c, negated, depth);
      out = negated ? product(std::move(out), d) : sum(std::move(out), d);
    }
    return out;
  }

private:
  Dnf conjunction(const ast::Conjunction& c, bool negated, int depth)
  {
    Dnf out = negated ? Dnf{} : Dnf{Conjunction{}};
    for (const auto& p : c.terms) {
      auto d = primary(p, negated, depth);
      out = negated ? sum(std::move(out), d) : product(std::move(out), d);
    }
    return out;
  }

  Dnf primary(const ast::Primary& p, bool negated, int depth)
  {
    struct Visitor
    {
      Converter& self;
      bool negated;
      int depth;
      Dnf operator()(const boost::spirit::x3::forward_ast<ast::Expr>& e) const
      {
        return self.expr(e.get(), negated, depth + 1);
      }
      Dnf operator()(const boost::spirit::x3::forward_ast<ast::Negation>& n) const
      {
        return self.primary(n.get().operand, !negated, depth + 1);
      }
      Dnf operator()(const ast::EventPredicate&) const { return unknown; }
      Dnf operator()(const ast::Condition& c) const { return self.condition(c, negated, depth); }
    };
    return boost::apply_visitor(Visitor{*this, negated, depth}, p);
  }

  static const ast::Reference* as_reference(const ast::Operand& o) { return boost::get<ast::Reference>(&o); }

  Dnf single(Atom atom) { return Dnf{Conjunction{std::move(atom)}}; }

  Dnf condition(const ast::Condition& c, bool negated, int depth)
  {
    if (!c.tail) {
      const auto* ref = as_reference(c.subject);
      if (!ref) {
        return unknown;
      }
      const auto& r = resolve(*ref, m_symbols);
      if (r.kind == ReferenceKind::user_segment &&
          (r.segment->in_cycle || r.segment->has_errors || r.segment->too_deep)) {
        return unknown;
      }
      if (r.kind == ReferenceKind::user_segment) {
        auto& cached = m_segments[{r.segment, negated}];
        if (!cached) {
          cached = expr(r.segment->declaration->definition, negated, depth + 1);
        }
        return *cached;
      }
      if (r.kind == ReferenceKind::builtin_segment) {
        Atom a;
        a.kind = Atom::Kind::text;
        a.attribute = r.builtin->attribute;
        a.op = negated ? "not in" : "in";
        a.text = r.builtin->value;
        return single(std::move(a));
      }
      if (r.kind == ReferenceKind::attribute && attributes()[r.attribute].type == ValueType::boolean) {
        Atom a;
        a.kind = Atom::Kind::boolean;
        a.attribute = attributes()[r.attribute].name;
        a.flag = !negated;
        return single(std::move(a));
      }
      return unknown;
    }

    const auto* subject = as_reference(c.subject);
    if (!subject) {
      return unknown;
    }
    const auto& resolved = resolve(*subject, m_symbols);
    const std::string_view attribute = resolved.lower;
    // `not aov > 50` also holds when aov is unknown (no orders yet), which no range says:
    // such a negation is not reasoned about.
    const bool may_be_unknown =
      resolved.kind != ReferenceKind::attribute || !attributes()[resolved.attribute].always_known;
    if (const auto* cmp = boost::get<ast::CompareTail>(&*c.tail)) {
      if (const auto* n = boost::get<ast::Number>(&cmp->rhs)) {
        if (negated && may_be_unknown) {
          return unknown;
        }
        Atom a;
        a.attribute = attribute;
        a.op = negated ? negate_op(cmp->op) : cmp->op;
        a.number = n->value;
        return single(std::move(a));
      }
      if (const auto* s = boost::get<ast::String>(&cmp->rhs); s && (cmp->op == "=" || cmp->op == "!=")) {
        Atom a;
        a.kind = Atom::Kind::text;
        a.attribute = attribute;
        a.op = ((cmp->op == "=") != negated) ? "in" : "not in";
        a.text = s->value;
        return single(std::move(a));
      }
      if (const auto* b = boost::get<ast::Boolean>(&cmp->rhs); b && (cmp->op == "=" || cmp->op == "!=")) {
        Atom a;
        a.kind = Atom::Kind::boolean;
        a.attribute = attribute;
        a.flag = ((to_lower(b->text) == "true") == (cmp->op == "=")) != negated;
        return single(std::move(a));
      }
      return unknown;
    }
    if (const auto* between = boost::get<ast::BetweenTail>(&*c.tail)) {
      const auto* low = boost::get<ast::Number>(&between->low);
      const auto* high = boost::get<ast::Number>(&between->high);
      if (!low || !high || (negated && may_be_unknown)) {
        return unknown;
      }
      Atom lo;
      lo.attribute = attribute;
      lo.number = low->value;
      Atom hi = lo;
      hi.number = high->value;
      if (!negated) {
        lo.op = ">=";
        hi.op = "<=";
        return Dnf{Conjunction{lo, hi}};
      }
      lo.op = "<";
      hi.op = ">";
      return Dnf{Conjunction{lo}, Conjunction{hi}};
    }
    const auto& in = boost::get<ast::InTail>(*c.tail);
    Atom a;
    a.kind = Atom::Kind::text;
    a.attribute = attribute;
    a.op = (in.negated != negated) ? "not in" : "in";
    for (const auto& v : in.values) {
      if (!boost::get<ast::String>(&v)) {
        return unknown;
      }
    }
    a.list = &in.values;
    return single(std::move(a));
  }

  const Symbols& m_symbols;
  std::map<std::pair<const SegmentSymbol*, bool>, std::optional<Dnf>> m_segments;
};

struct Range
{
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_open = false;
  bool high_open = false;
  std::vector<double> excluded;

  void at_least(double v, bool open)
  {
    if (v > low || (v == low && open)) {
      low = v;
      low_open = open;
    }
  }
  void at_most(double v, bool open)
  {
    if (v < high || (v == high && open)) {
      high = v;
      high_open = open;
    }
  }
  bool possible() const
  {
    if (low < high) {
      return true;
    }
    return low == high && !low_open && !high_open &&
           std::find(excluded.begin(), excluded.end(), low) == excluded.end();
  }
};

// Values a text attribute may still take; unrestricted until an `=` or `in` (or the
// attribute's own list of choices) says otherwise.
struct TextSet
{
  bool restricted = false;
  std::vector<std::string_view> allowed;
  std::vector<std::string_view> excluded;

  void only(const Atom& atom)
  {
    std::vector<std::string_view> values;
    atom.for_each_text([&](std::string_view v) { values.push_back(v); });
    only(values);
  }
  void only(const std::vector<std::string_view>& values)
  {
    if (!restricted) {
      allowed = values;
      restricted = true;
      return;
    }
    std::erase_if(allowed, [&](std::string_view v) { return std::find(values.begin(), values.end(), v) == values.end(); });
  }
  bool possible() const
  {
    if (!restricted) {
      return true;
    }
    return std::any_of(allowed.begin(), allowed.end(), [&](std::string_view v) {
      return std::find(excluded.begin(), excluded.end(), v) == excluded.end();
    });
  }
};

struct Flags
{
  bool can_be_true = true;
  bool can_be_false = true;
  bool possible() const { return can_be_true || can_be_false; }
};

// Conjunctions are short: a linear search beats a map.
template<typename State>
State&
state_of(std::vector<std::pair<std::string_view, State>>& states, std::string_view attribute, bool& fresh)
{
  for (auto& [name, state] : states) {
    if (name == attribute) {
      fresh = false;
      return state;
    }
  }
  fresh = true;
  return states.emplace_back(attribute, State{}).second;
}

bool
possible(const Conjunction& c)
{
  std::vector<std::pair<std::string_view, Range>> numbers;
  std::vector<std::pair<std::string_view, TextSet>> texts;
  std::vector<std::pair<std::string_view, Flags>> flags;
  for (const auto& a : c) {
    bool fresh = false;
    switch (a.kind) {
    case Atom::Kind::number: {
      auto& range = state_of(numbers, a.attribute, fresh);
      if (fresh) {
        if (auto index = find_attribute(a.attribute)) {
          const auto& info = attributes()[*index];
          if (info.min) range.at_least(*info.min, false);
          if (info.max) range.at_most(*info.max, false);
        }
      }
      if (a.op == "=") {
        range.at_least(a.number, false);
        range.at_most(a.number, false);
      } else if (a.op == "!=") {
        range.excluded.push_back(a.number);
      } else if (a.op == "<") {
        range.at_most(a.number, true);
      } else if (a.op == "<=") {
        range.at_most(a.number, false);
      } else if (a.op == ">") {
        range.at_least(a.number, true);
      } else {
        range.at_least(a.number, false);
      }
      break;
    }
    case Atom::Kind::text: {
      auto& set = state_of(texts, a.attribute, fresh);
      if (fresh) {
        if (auto index = find_attribute(a.attribute); index && !attributes()[*index].choices.empty()) {
          const auto& choices = attributes()[*index].choices;
          set.only(std::vector<std::string_view>(choices.begin(), choices.end()));
        }
      }
      if (a.op == "in") {
        set.only(a);
      } else {
        a.for_each_text([&](std::string_view v) { set.excluded.push_back(v); });
      }
      break;
    }
    case Atom::Kind::boolean: {
      auto& f = state_of(flags, a.attribute, fresh);
      (a.flag ? f.can_be_false : f.can_be_true) = false;
      break;
    }
    }
  }
  return std::all_of(numbers.begin(), numbers.end(), [](const auto& e) { return e.second.possible(); }) &&
         std::all_of(texts.begin(), texts.end(), [](const auto& e) { return e.second.possible(); }) &&
         std::all_of(flags.begin(), flags.end(), [](const auto& e) { return e.second.possible(); });
}

} // namespace

struct ContradictionFinder::Impl
{
  explicit Impl(const Symbols& symbols) : converter(symbols) {}
  Converter converter;
};

ContradictionFinder::ContradictionFinder(const Symbols& symbols) : m_impl(std::make_unique<Impl>(symbols)) {}

ContradictionFinder::~ContradictionFinder() = default;

ContradictionFinder::Verdict
ContradictionFinder::judge(const ast::Expr& expr, const ast::Expr* also_false)
{
  const auto dnf = m_impl->converter.expr(expr, false, 0);
  if (std::none_of(dnf.begin(), dnf.end(), possible)) {
    return Verdict::never;
  }
  if (!also_false) {
    return Verdict::possible;
  }
  const auto negated = m_impl->converter.expr(*also_false, true, 0);
  if (negated.size() == 1 && negated.front().empty()) {
    return Verdict::possible; // nothing known about the other condition
  }
  const auto both = product(dnf, negated);
  return std::any_of(both.begin(), both.end(), possible) ? Verdict::possible : Verdict::never_unless_false;
}

} // namespace cvmd::dsl
