#include "compiler.hpp"

#include "checker.hpp"
#include "keywords.hpp"

#include <cstdio>
#include <map>
#include <unordered_map>
#include <stdexcept>

namespace cvmd::dsl {

namespace x3 = boost::spirit::x3;

namespace {

CompareOp
to_op(const std::string& op)
{
  if (op == "=") return CompareOp::eq;
  if (op == "!=") return CompareOp::ne;
  if (op == "<") return CompareOp::lt;
  if (op == "<=") return CompareOp::le;
  if (op == ">") return CompareOp::gt;
  return CompareOp::ge;
}

// `50 < aov` is `aov > 50`.
CompareOp
mirrored(CompareOp op)
{
  switch (op) {
  case CompareOp::lt:
    return CompareOp::gt;
  case CompareOp::le:
    return CompareOp::ge;
  case CompareOp::gt:
    return CompareOp::lt;
  case CompareOp::ge:
    return CompareOp::le;
  default:
    return op;
  }
}

EventKind
to_event(const std::string& kind)
{
  if (kind == "opened") return EventKind::opened;
  if (kind == "clicked") return EventKind::clicked;
  if (kind == "received") return EventKind::received;
  if (kind == "unsubscribed") return EventKind::unsubscribed;
  if (kind == "did") return EventKind::did;
  return EventKind::ordered;
}

class Compiler
{
public:
  Compiler(Program& program, const Symbols& symbols) : m_program(program), m_symbols(symbols)
  {
    for (std::size_t i = 0; i < symbols.segment_order.size(); ++i) {
      m_segment_index.emplace(symbols.segment_order[i], i);
    }
  }

  Condition condition(const ast::Expr& e)
  {
    Condition c;
    expr(e, c.nodes);
    return c;
  }

  Condition negated(const ast::Expr& e)
  {
    Condition c;
    c.nodes.push_back(Node{NodeKind::negate});
    expr(e, c.nodes);
    c.nodes[0].size = static_cast<std::uint32_t>(c.nodes.size());
    return c;
  }

  std::uint32_t intern(const std::string& text)
  {
    auto [it, fresh] = m_strings.try_emplace(text, static_cast<std::uint32_t>(m_program.strings.size()));
    if (fresh) {
      m_program.strings.push_back(text);
    }
    return it->second;
  }

  SendAction send(const ast::Send& s)
  {
    SendAction out;
    out.template_name = to_lower(s.template_name.text);
    if (s.channel) {
      out.channel = to_lower(s.channel->text);
    } else if (const auto* tmpl = m_symbols.templates ? m_symbols.templates->find(out.template_name) : nullptr) {
      out.channel = tmpl->channel;
    }
    return out;
  }

private:
  // Opens a node whose children follow; close() fixes its size.
  std::size_t open(std::vector<Node>& out, Node node)
  {
    out.push_back(node);
    return out.size() - 1;
  }
  void close(std::vector<Node>& out, std::size_t at) { out[at].size = static_cast<std::uint32_t>(out.size() - at); }

  void expr(const ast::Expr& e, std::vector<Node>& out)
  {
    if (e.terms.size() == 1) {
      conjunction(e.terms.front(), out);
      return;
    }
    const auto at = open(out, Node{NodeKind::any});
    for (const auto& c : e.terms) {
      conjunction(c, out);
    }
    close(out, at);
  }

  void conjunction(const ast::Conjunction& c, std::vector<Node>& out)
  {
    if (c.terms.size() == 1) {
      primary(c.terms.front(), out);
      return;
    }
    const auto at = open(out, Node{NodeKind::all});
    for (const auto& p : c.terms) {
      primary(p, out);
    }
    close(out, at);
  }

  void primary(const ast::Primary& p, std::vector<Node>& out)
  {
    if (const auto* e = boost::get<x3::forward_ast<ast::Expr>>(&p)) {
      expr(e->get(), out);
    } else if (const auto* n = boost::get<x3::forward_ast<ast::Negation>>(&p)) {
      const auto at = open(out, Node{NodeKind::negate});
      primary(n->get().operand, out);
      close(out, at);
    } else if (const auto* ev = boost::get<ast::EventPredicate>(&p)) {
      event(*ev, out);
    } else {
      condition(boost::get<ast::Condition>(p), out);
    }
  }

  void event(const ast::EventPredicate& ev, std::vector<Node>& out)
  {
    Node node{NodeKind::event};
    node.event = to_event(ev.kind);
    if (ev.target) {
      node.text = intern(to_lower(ev.target->text));
      node.count = 1;
    }
    if (ev.within) {
      node.within_seconds = duration_seconds(*ev.within);
    }
    out.push_back(node);
  }

  AttrId attribute_id(const ResolvedReference& r)
  {
    if (r.kind == ReferenceKind::attribute) {
      return static_cast<AttrId>(r.attribute);
    }
    if (r.kind != ReferenceKind::profile) {
      throw std::logic_error("compiler: '" + r.lower + "' is not an attribute (the checker should have said so)");
    }
    const auto field = r.lower.substr(8);
    auto [it, fresh] = m_profile.try_emplace(field, static_cast<AttrId>(attributes().size() + m_program.profile_fields.size()));
    if (fresh) {
      m_program.profile_fields.push_back(field);
    }
    return it->second;
  }

  // A reference used as a condition on its own.
  void truth(const ResolvedReference& r, std::vector<Node>& out)
  {
    switch (r.kind) {
    case ReferenceKind::user_segment: {
      Node node{NodeKind::segment};
      node.text = static_cast<std::uint32_t>(m_segment_index.at(r.lower));
      out.push_back(node);
      return;
    }
    case ReferenceKind::builtin_segment: {
      Node node{NodeKind::compare_text};
      node.attr = static_cast<AttrId>(*find_attribute(r.builtin->attribute));
      node.text = intern(std::string(r.builtin->value));
      out.push_back(node);
      return;
    }
    case ReferenceKind::attribute: {
      Node node{NodeKind::flag};
      node.attr = attribute_id(r);
      out.push_back(node);
      return;
    }
    default: {
      // A profile field alone is true when it is filled in.
      Node node{NodeKind::compare_text};
      node.op = CompareOp::ne;
      node.attr = attribute_id(r);
      node.text = intern("");
      out.push_back(node);
      return;
    }
    }
  }

  void constant(bool value, std::vector<Node>& out)
  {
    Node node{NodeKind::constant};
    node.number = value ? 1 : 0;
    out.push_back(node);
  }

  void condition(const ast::Condition& c, std::vector<Node>& out)
  {
    const auto* subject = boost::get<ast::Reference>(&c.subject);
    if (!c.tail) {
      if (subject) {
        truth(resolve(*subject, m_symbols), out);
      } else {
        const auto* b = boost::get<ast::Boolean>(&c.subject);
        constant(b && to_lower(b->text) == "true", out);
      }
      return;
    }
    if (const auto* cmp = boost::get<ast::CompareTail>(&*c.tail)) {
      compare(c.subject, to_op(cmp->op), cmp->rhs, out);
    } else if (const auto* between = boost::get<ast::BetweenTail>(&*c.tail)) {
      const auto at = open(out, Node{NodeKind::all});
      compare(c.subject, CompareOp::ge, between->low, out);
      compare(c.subject, CompareOp::le, between->high, out);
      close(out, at);
    } else {
      in(*subject, boost::get<ast::InTail>(*c.tail), out);
    }
  }

  void compare(const ast::Operand& left, CompareOp op, const ast::Operand& right, std::vector<Node>& out)
  {
    const auto* ref = boost::get<ast::Reference>(&left);
    const ast::Operand* value = &right;
    if (!ref) {
      ref = boost::get<ast::Reference>(&right);
      value = &left;
      op = mirrored(op);
    }
    const auto& r = resolve(*ref, m_symbols);
    if (const auto* other = boost::get<ast::Reference>(value)) {
      const auto& r2 = resolve(*other, m_symbols);
      const auto type = [](const ResolvedReference& x) {
        return x.kind == ReferenceKind::attribute ? attributes()[x.attribute].type : ValueType::text;
      };
      const auto is_truth = [&](const ResolvedReference& x) {
        return x.kind == ReferenceKind::user_segment || x.kind == ReferenceKind::builtin_segment ||
               (x.kind == ReferenceKind::attribute && type(x) == ValueType::boolean);
      };
      if (is_truth(r) && is_truth(r2)) {
        equivalence(r, r2, op == CompareOp::eq, out);
        return;
      }
      // Profile fields take the other side's type; two profile fields compare as text.
      const bool ordering = op != CompareOp::eq && op != CompareOp::ne;
      auto kind = ordering || type(r) == ValueType::number || type(r2) == ValueType::number
                    ? NodeKind::compare_attrs
                    : NodeKind::compare_text_attrs;
      Node node{kind};
      node.op = op;
      node.attr = attribute_id(r);
      node.attr2 = attribute_id(r2);
      out.push_back(node);
    } else if (const auto* n = boost::get<ast::Number>(value)) {
      Node node{NodeKind::compare_number};
      node.op = op;
      node.attr = attribute_id(r);
      node.number = n->value;
      out.push_back(node);
    } else if (const auto* s = boost::get<ast::String>(value)) {
      Node node{NodeKind::compare_text};
      node.op = op;
      node.attr = attribute_id(r);
      node.text = intern(s->value);
      out.push_back(node);
    } else {
      const bool want = (to_lower(boost::get<ast::Boolean>(*value).text) == "true") == (op == CompareOp::eq);
      std::size_t at = want ? 0 : open(out, Node{NodeKind::negate});
      if (r.kind == ReferenceKind::profile) {
        Node node{NodeKind::compare_text};
        node.attr = attribute_id(r);
        node.text = intern("true");
        out.push_back(node);
      } else {
        truth(r, out);
      }
      if (!want) {
        close(out, at);
      }
    }
  }

  // `a = b` over conditions: (a and b) or (not a and not b); `!=` is its negation.
  void equivalence(const ResolvedReference& a, const ResolvedReference& b, bool equal, std::vector<Node>& out)
  {
    const auto negation = equal ? 0 : open(out, Node{NodeKind::negate});
    const auto either = open(out, Node{NodeKind::any});
    const auto both = open(out, Node{NodeKind::all});
    truth(a, out);
    truth(b, out);
    close(out, both);
    const auto neither = open(out, Node{NodeKind::all});
    for (const auto* x : {&a, &b}) {
      const auto at = open(out, Node{NodeKind::negate});
      truth(*x, out);
      close(out, at);
    }
    close(out, neither);
    close(out, either);
    if (!equal) {
      close(out, negation);
    }
  }

  void in(const ast::Reference& subject, const ast::InTail& tail, std::vector<Node>& out)
  {
    const auto& r = resolve(subject, m_symbols);
    std::size_t at = tail.negated ? open(out, Node{NodeKind::negate}) : 0;
    Node node{NodeKind::in_text};
    node.attr = attribute_id(r);
    node.count = static_cast<std::uint32_t>(tail.values.size());
    const bool numbers = !tail.values.empty() && boost::get<ast::Number>(&tail.values.front());
    if (numbers) {
      node.kind = NodeKind::in_number;
      node.text = static_cast<std::uint32_t>(m_program.numbers.size());
      for (const auto& v : tail.values) {
        m_program.numbers.push_back(boost::get<ast::Number>(v).value);
      }
    } else {
      // Sets are contiguous in the string table, so they are appended, not interned.
      node.text = static_cast<std::uint32_t>(m_program.strings.size());
      for (const auto& v : tail.values) {
        m_program.strings.push_back(boost::get<ast::String>(v).value);
      }
    }
    out.push_back(node);
    if (tail.negated) {
      close(out, at);
    }
  }

  Program& m_program;
  const Symbols& m_symbols;
  std::map<std::string, std::uint32_t> m_strings;
  std::map<std::string, AttrId> m_profile;
  std::unordered_map<std::string, std::size_t> m_segment_index; // lower-case name -> Program::segments
};

// Segment versions in dependency order (the checker bounds the depth, so recursion is safe).
void
version_segment(Program& program, std::size_t index, std::vector<int>& state)
{
  if (state[index] == 2) {
    return;
  }
  state[index] = 2;
  for (const auto& node : program.segments[index].nodes) {
    if (node.kind == NodeKind::segment) {
      version_segment(program, node.text, state);
    }
  }
  program.segment_versions[index] = condition_version(program.segments[index], program);
}

std::string
format_date(const ast::Date& d)
{
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buffer;
}

Step
compile_action(Compiler& compiler, const ast::Action& action)
{
  Step step;
  if (const auto* s = boost::get<ast::Send>(&action)) {
    step.kind = Step::Kind::send;
    step.send = compiler.send(*s);
    return step;
  }
  const auto& split = boost::get<ast::Split>(action);
  step.kind = Step::Kind::split;
  step.split_name = split.name ? to_lower(split.name->text) : "split";
  if (split.optimize) {
    step.optimize = split.optimize->metric == "clicks" ? Step::Optimize::clicks : Step::Optimize::conversions;
    if (const auto& warmup = split.optimize->warmup; warmup && warmup->value >= 1 && warmup->value <= 1e6) {
      step.warmup = static_cast<int>(warmup->value); // the checker has refused other values
    }
  }
  for (const auto& v : split.variants) {
    SplitVariant variant;
    variant.name = to_lower(v.name.text);
    variant.weight = v.weight.value;
    if (v.send) {
      variant.send = compiler.send(*v.send);
    }
    step.variants.push_back(std::move(variant));
  }
  return step;
}

void
compile_settings(Compiler& compiler, const ast::Item& item, Scenario& out)
{
  if (const auto* when = boost::get<ast::WhenSetting>(&item)) {
    out.entry = Scenario::Entry::state;
    out.when = compiler.condition(when->condition);
  } else if (const auto* on = boost::get<ast::OnSetting>(&item)) {
    out.entry = Scenario::Entry::event;
    out.on_event = to_lower(on->event.text);
    if (on->where) {
      out.where = compiler.condition(*on->where);
    }
  } else if (boost::get<ast::OnceSetting>(&item)) {
    out.once = true;
  } else if (const auto* reenter = boost::get<ast::ReenterSetting>(&item)) {
    out.once = false;
    out.reenter_after_seconds = duration_seconds(reenter->after);
  } else if (const auto* exit = boost::get<ast::ExitSetting>(&item)) {
    out.exit = compiler.condition(exit->condition);
  } else if (const auto* goal = boost::get<ast::GoalSetting>(&item)) {
    Goal g;
    g.kind = to_event(goal->event.kind);
    g.name = goal->event.target ? to_lower(goal->event.target->text) : "";
    g.within_seconds = goal->event.within ? duration_seconds(*goal->event.within) : 0;
    out.goal = g;
  } else if (const auto* priority = boost::get<ast::PrioritySetting>(&item)) {
    out.priority = static_cast<int>(priority->value.value);
  } else if (const auto* cap = boost::get<ast::CapSetting>(&item)) {
    out.cap_count = static_cast<int>(cap->count.value);
    out.cap_per_seconds = duration_seconds(cap->per);
  } else if (const auto* quiet = boost::get<ast::QuietSetting>(&item)) {
    out.quiet_from_minute = quiet->from.hour * 60 + quiet->from.minute;
    out.quiet_to_minute = quiet->to.hour * 60 + quiet->to.minute;
  } else if (const auto* holdout = boost::get<ast::HoldoutSetting>(&item)) {
    out.holdout_percent = holdout->share.value;
  } else if (const auto* active = boost::get<ast::ActiveSetting>(&item)) {
    out.active_from = format_date(active->from);
    if (active->to) {
      out.active_to = format_date(*active->to);
    }
  }
}

} // namespace

Program
compile(const Symbols& symbols)
{
  Program program;
  Compiler compiler(program, symbols);

  for (const auto& name : symbols.segment_order) {
    program.segment_names.push_back(name);
    program.segments.push_back(compiler.condition(symbols.segments.at(name).declaration->definition));
  }
  program.segment_versions.resize(program.segments.size());
  std::vector<int> state(program.segments.size(), 0);
  for (std::size_t i = 0; i < program.segments.size(); ++i) {
    version_segment(program, i, state);
  }

  for (const auto& symbol : symbols.scenarios) {
    Scenario out;
    out.file = symbol.file->source->path();
    if (symbol.rule) {
      const auto& rule = *symbol.rule;
      out.id = to_lower(rule.name.text);
      out.title = rule.name.text;
      out.line = symbol.file->source->position_of(symbol.file->begin_of(rule)).line;
      out.from_rule = true;
      out.when = compiler.condition(rule.step.condition);
      Step step = compile_action(compiler, rule.step.action);
      step.condition = out.when;
      step.delay_seconds = rule.step.delay ? duration_seconds(*rule.step.delay) : 0;
      step.line = out.line;
      out.steps.push_back(std::move(step));
    } else {
      const auto& scenario = *symbol.scenario;
      out.id = to_lower(scenario.name.text);
      out.title = scenario.title ? scenario.title->value : scenario.name.text;
      out.line = symbol.file->source->position_of(symbol.file->begin_of(scenario)).line;
      std::int64_t pending_wait = 0;
      for (const auto& item : scenario.items) {
        const auto line = symbol.file->source->position_of(
          symbol.file->begin_of(boost::apply_visitor(
            [](const auto& n) -> const boost::spirit::x3::position_tagged& { return n; }, item))).line;
        if (const auto* g = boost::get<ast::GuardedStep>(&item)) {
          Step step = compile_action(compiler, g->action);
          step.condition = compiler.condition(g->condition);
          step.delay_seconds = pending_wait + (g->delay ? duration_seconds(*g->delay) : 0);
          step.line = line;
          pending_wait = 0;
          out.steps.push_back(std::move(step));
        } else if (const auto* a = boost::get<ast::ActionStep>(&item)) {
          Step step = compile_action(compiler, a->action);
          if (a->guard) {
            step.condition = a->guard->keyword == "if" ? compiler.condition(a->guard->condition)
                                                       : compiler.negated(a->guard->condition);
          }
          step.delay_seconds = pending_wait + (a->delay ? duration_seconds(*a->delay) : 0);
          step.line = line;
          pending_wait = 0;
          out.steps.push_back(std::move(step));
        } else if (const auto* w = boost::get<ast::WaitStep>(&item)) {
          // A wait only shifts the next step; `after` counts from the previous step.
          pending_wait += duration_seconds(w->duration);
        } else {
          compile_settings(compiler, item, out);
        }
      }
    }
    out.version = scenario_version(out, program);
    program.scenarios.push_back(std::move(out));
  }
  return program;
}

} // namespace cvmd::dsl
