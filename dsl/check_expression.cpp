// Names and types inside conditions.
#include "checker.hpp"
#include "checker_context.hpp"
#include "keywords.hpp"
#include "suggest.hpp"

#include <cmath>
#include <optional>

namespace cvmd::dsl {

namespace x3 = boost::spirit::x3;

std::int64_t
duration_seconds(const ast::Duration& d)
{
  static const std::map<std::string, double> unit = {
    {"minute", 60.0}, {"hour", 3600.0}, {"day", 86400.0}, {"week", 604800.0}};
  const auto it = unit.find(d.unit);
  const double seconds = d.amount * (it == unit.end() ? 0.0 : it->second);
  return seconds > 9.0e15 ? std::int64_t{9'000'000'000'000'000} : static_cast<std::int64_t>(std::llround(seconds));
}

void
check_duration(CheckerContext& context, const ast::Duration& duration, const char* what)
{
  if (duration.amount <= 0 || duration_seconds(duration) <= 0) {
    context.error(duration, std::string(what) + " must be longer than zero");
  } else if (duration_seconds(duration) > std::int64_t{3650} * 86400) {
    context.error(duration, std::string(what) + " is unreasonably long (more than ten years)");
  }
}

namespace {

// What an operand holds, for type checks.
struct OperandType
{
  enum class Kind { unknown, number, text, boolean, choice, any } kind = Kind::unknown;
  std::string describe;
  const AttributeInfo* attribute = nullptr;
  bool literal = false;
  bool segment = false;
};

std::vector<std::string>
reference_candidates(const Symbols& symbols)
{
  std::vector<std::string> out;
  for (const auto& a : attributes()) {
    out.emplace_back(a.name);
  }
  for (const auto& s : builtin_segments()) {
    out.emplace_back(s.name);
  }
  for (const auto& [name, symbol] : symbols.segments) {
    out.push_back(name);
  }
  return out;
}

constexpr std::size_t max_profile_fields = 10000;

class ExpressionChecker
{
public:
  explicit ExpressionChecker(CheckerContext& context) : m_context(context) {}

  void expr(const ast::Expr& e)
  {
    for (const auto& c : e.terms) {
      for (const auto& p : c.terms) {
        primary(p);
      }
    }
  }

  void primary(const ast::Primary& p)
  {
    if (const auto* e = boost::get<x3::forward_ast<ast::Expr>>(&p)) {
      expr(e->get());
    } else if (const auto* n = boost::get<x3::forward_ast<ast::Negation>>(&p)) {
      primary(n->get().operand);
    } else if (const auto* ev = boost::get<ast::EventPredicate>(&p)) {
      check_event(m_context, *ev);
    } else {
      condition(boost::get<ast::Condition>(p));
    }
  }

private:
  OperandType type_of(const ast::Operand& operand)
  {
    OperandType t;
    if (const auto* n = boost::get<ast::Number>(&operand)) {
      t.kind = OperandType::Kind::number;
      t.literal = true;
      t.describe = "a number";
      (void)n;
    } else if (const auto* s = boost::get<ast::String>(&operand)) {
      t.kind = OperandType::Kind::text;
      t.literal = true;
      t.describe = "the text \"" + s->value + "\"";
    } else if (boost::get<ast::Boolean>(&operand)) {
      t.kind = OperandType::Kind::boolean;
      t.literal = true;
      t.describe = "true/false";
    } else {
      const auto& ref = boost::get<ast::Reference>(operand);
      const auto& r = resolve(ref, m_context.symbols);
      switch (r.kind) {
      case ReferenceKind::unknown:
        report_unknown(ref);
        break;
      case ReferenceKind::profile:
        t.kind = OperandType::Kind::any;
        t.describe = ref.text;
        if (m_context.symbols.profile_fields.insert(r.lower).second &&
            m_context.symbols.profile_fields.size() == max_profile_fields + 1) {
          m_context.error(ref, "more than " + std::to_string(max_profile_fields) +
                                 " different profile fields; use fewer custom fields");
        }
        break;
      case ReferenceKind::user_segment:
      case ReferenceKind::builtin_segment:
        t.kind = OperandType::Kind::boolean;
        t.segment = true;
        t.describe = "the segment " + r.lower;
        break;
      case ReferenceKind::attribute: {
        const auto& info = attributes()[r.attribute];
        t.attribute = &info;
        t.describe = std::string(info.name) + " (" + (info.type == ValueType::choice ? "text" : to_string(info.type)) + ")";
        t.kind = info.type == ValueType::number    ? OperandType::Kind::number
                 : info.type == ValueType::text    ? OperandType::Kind::text
                 : info.type == ValueType::boolean ? OperandType::Kind::boolean
                                                   : OperandType::Kind::choice;
        break;
      }
      }
    }
    return t;
  }

  void report_unknown(const ast::Reference& ref)
  {
    const auto lower = to_lower(ref.text);
    if (m_context.symbols.broken_names.count(lower)) {
      return; // its declaration already has a syntax error
    }
    m_context.error(ref, "unknown segment or attribute '" + ref.text + "'" +
                           did_you_mean(lower, reference_candidates(m_context.symbols)));
  }

  static bool is_text(OperandType::Kind k) { return k == OperandType::Kind::text || k == OperandType::Kind::choice; }

  static bool compatible(const OperandType& a, const OperandType& b)
  {
    using K = OperandType::Kind;
    if (a.kind == K::any || b.kind == K::any) {
      // A profile field holds a value, not a condition: compare it with true/false instead.
      const auto condition = [](const OperandType& t) { return t.kind == K::boolean && !t.literal; };
      return !condition(a) && !condition(b);
    }
    if (is_text(a.kind) && is_text(b.kind)) {
      return true;
    }
    return a.kind == b.kind;
  }

  // A text compared with a choice attribute must be one of its values.
  void check_choice(const OperandType& attribute, const ast::Operand& value)
  {
    const auto* s = boost::get<ast::String>(&value);
    if (!s || !attribute.attribute || attribute.attribute->choices.empty()) {
      return;
    }
    std::vector<std::string> choices(attribute.attribute->choices.begin(), attribute.attribute->choices.end());
    if (std::find(choices.begin(), choices.end(), s->value) != choices.end()) {
      return;
    }
    std::string list;
    for (const auto& c : choices) {
      list += (list.empty() ? "" : ", ") + c;
    }
    m_context.error(*s, "\"" + s->value + "\" is not a value of " + std::string(attribute.attribute->name) +
                          did_you_mean(s->value, choices) + "; it is one of: " + list);
  }

  void condition(const ast::Condition& c)
  {
    const auto subject = type_of(c.subject);
    if (!c.tail) {
      if (subject.kind == OperandType::Kind::unknown || subject.kind == OperandType::Kind::boolean ||
          subject.kind == OperandType::Kind::any) {
        return;
      }
      if (subject.literal) {
        m_context.error(c, "a value alone is not a condition; compare it with an attribute, e.g. aov > 50");
      } else {
        const auto& ref = boost::get<ast::Reference>(c.subject);
        m_context.error(c, "'" + ref.text + "' is " +
                             (subject.kind == OperandType::Kind::number ? "a number" : "a text") +
                             ", not a condition; compare it, e.g. " +
                             (subject.kind == OperandType::Kind::number ? ref.text + " > 50"
                                                                        : ref.text + " = \"...\""));
      }
      return;
    }
    struct TailVisitor
    {
      ExpressionChecker& self;
      const ast::Condition& c;
      const OperandType& subject;
      void operator()(const ast::CompareTail& t) const { self.compare(c, subject, t); }
      void operator()(const ast::BetweenTail& t) const { self.between(subject, t); }
      void operator()(const ast::InTail& t) const { self.in(subject, t); }
    };
    boost::apply_visitor(TailVisitor{*this, c, subject}, *c.tail);
  }

  void compare(const ast::Condition& c, const OperandType& subject, const ast::CompareTail& t)
  {
    const auto rhs = type_of(t.rhs);
    if (subject.kind == OperandType::Kind::unknown || rhs.kind == OperandType::Kind::unknown) {
      return;
    }
    const auto& rhs_node = static_cast<const x3::position_tagged&>(
      boost::apply_visitor([](const auto& n) -> const x3::position_tagged& { return n; }, t.rhs));
    if (subject.literal && rhs.literal) {
      m_context.error(c, "this compares two fixed values; one side must be an attribute");
      return;
    }
    if (!compatible(subject, rhs)) {
      m_context.error(rhs_node, "cannot compare " + subject.describe + " with " + rhs.describe);
      return;
    }
    const bool ordering = t.op != "=" && t.op != "!=";
    if (ordering && (is_text(subject.kind) || is_text(rhs.kind) || subject.kind == OperandType::Kind::boolean ||
                     rhs.kind == OperandType::Kind::boolean)) {
      m_context.error(t, "'" + t.op + "' needs numbers; text and true/false compare only with = and !=");
      return;
    }
    if (subject.kind == OperandType::Kind::choice) {
      check_choice(subject, t.rhs);
    } else if (rhs.kind == OperandType::Kind::choice) {
      check_choice(rhs, c.subject);
    }
  }

  void between(const OperandType& subject, const ast::BetweenTail& t)
  {
    if (subject.literal) {
      m_context.error(t, "'between' needs an attribute before it, not a fixed value");
      return;
    }
    for (const auto* bound : {&t.low, &t.high}) {
      const auto type = type_of(*bound);
      if (type.kind != OperandType::Kind::unknown && type.kind != OperandType::Kind::number &&
          type.kind != OperandType::Kind::any) {
        m_context.error(t, "between needs numbers, but one bound is " + type.describe);
        return;
      }
    }
    if (subject.kind != OperandType::Kind::unknown && subject.kind != OperandType::Kind::number &&
        subject.kind != OperandType::Kind::any) {
      m_context.error(t, "between needs a number, but it is applied to " + subject.describe);
    }
  }

  void in(const OperandType& subject, const ast::InTail& t)
  {
    if (subject.literal) {
      m_context.error(t, "'in' needs an attribute before it, not a fixed value");
      return;
    }
    if (subject.kind == OperandType::Kind::boolean) {
      m_context.error(t, "'in' needs a number or a text, not " + subject.describe);
      return;
    }
    std::optional<OperandType::Kind> list_kind;
    for (const auto& v : t.values) {
      const auto type = type_of(v);
      const auto& node = boost::apply_visitor([](const auto& n) -> const x3::position_tagged& { return n; }, v);
      if (type.kind == OperandType::Kind::unknown) {
        continue;
      }
      if (!type.literal) {
        m_context.error(node, "the list after 'in' holds fixed values, not attributes");
      } else if (type.kind == OperandType::Kind::boolean) {
        m_context.error(node, "the list after 'in' holds numbers or texts; for true/false use = or !=");
      } else if (subject.kind != OperandType::Kind::unknown && !compatible(subject, type)) {
        m_context.error(node, "cannot compare " + subject.describe + " with " + type.describe);
      } else if (list_kind && *list_kind != type.kind) {
        m_context.error(node, "the list after 'in' mixes numbers and texts; keep one kind");
      } else {
        list_kind = type.kind;
        if (subject.kind == OperandType::Kind::choice) {
          check_choice(subject, v);
        }
      }
    }
  }

  CheckerContext& m_context;
};

} // namespace

void
check_event(CheckerContext& context, const ast::EventPredicate& event)
{
  const auto& kind = event.kind;
  if (kind == "did" && !event.target) {
    context.error(event, "'did' needs an event name, e.g. did view_product");
  } else if ((kind == "ordered" || kind == "unsubscribed") && event.target) {
    context.error(*event.target, "'" + kind + "' takes no name; remove '" + event.target->text + "'");
  } else if (event.target && kind != "did" && context.symbols.templates && context.symbols.templates->loaded()) {
    const auto lower = to_lower(event.target->text);
    if (!context.symbols.templates->find(lower)) {
      context.error(*event.target, "unknown template '" + event.target->text + "'" +
                                     did_you_mean(lower, context.symbols.templates->names()));
    }
  }
  if (event.within) {
    check_duration(context, *event.within, "the window after 'within'");
  }
}

void
check_expression(CheckerContext& context, const ast::Expr& expr)
{
  ExpressionChecker(context).expr(expr);
}

namespace {

void
collect_segment_references(const ast::Primary& p, std::vector<const ast::Reference*>& out)
{
  if (const auto* e = boost::get<x3::forward_ast<ast::Expr>>(&p)) {
    for (const auto& c : e->get().terms) {
      for (const auto& q : c.terms) {
        collect_segment_references(q, out);
      }
    }
  } else if (const auto* n = boost::get<x3::forward_ast<ast::Negation>>(&p)) {
    collect_segment_references(n->get().operand, out);
  } else if (const auto* c = boost::get<ast::Condition>(&p)) {
    if (const auto* r = boost::get<ast::Reference>(&c->subject)) {
      out.push_back(r);
    }
    if (c->tail) {
      if (const auto* cmp = boost::get<ast::CompareTail>(&*c->tail)) {
        if (const auto* r = boost::get<ast::Reference>(&cmp->rhs)) {
          out.push_back(r);
        }
      }
    }
  }
}

} // namespace

std::vector<const ast::Reference*>
references_in(const ast::Expr& expr)
{
  std::vector<const ast::Reference*> out;
  for (const auto& c : expr.terms) {
    for (const auto& p : c.terms) {
      collect_segment_references(p, out);
    }
  }
  return out;
}

void
mark_used(const ast::Expr& expr, Symbols& symbols)
{
  // A worklist, not recursion: a chain of segments may be as long as the file.
  std::vector<const ast::Expr*> pending{&expr};
  while (!pending.empty()) {
    const auto* next = pending.back();
    pending.pop_back();
    for (const auto* ref : references_in(*next)) {
      auto it = symbols.segments.find(to_lower(ref->text));
      if (it != symbols.segments.end() && !it->second.used) {
        it->second.used = true;
        pending.push_back(&it->second.declaration->definition);
      }
    }
  }
}

} // namespace cvmd::dsl
