#include "program.hpp"

#include "catalogue.hpp"

#include <cmath>
#include <xxhash.h>

#include <charconv>
#include <type_traits>
#include <cstdio>

namespace cvmd::dsl {

const char*
to_string(EventKind kind)
{
  switch (kind) {
  case EventKind::ordered:
    return "ordered";
  case EventKind::opened:
    return "opened";
  case EventKind::clicked:
    return "clicked";
  case EventKind::received:
    return "received";
  case EventKind::unsubscribed:
    return "unsubscribed";
  case EventKind::did:
    return "did";
  }
  return "ordered";
}

const char*
to_string(Step::Optimize optimize)
{
  switch (optimize) {
  case Step::Optimize::none:
    return "none";
  case Step::Optimize::clicks:
    return "clicks";
  case Step::Optimize::conversions:
    return "conversions";
  }
  return "none";
}

const char*
to_string(CompareOp op)
{
  switch (op) {
  case CompareOp::eq:
    return "=";
  case CompareOp::ne:
    return "!=";
  case CompareOp::lt:
    return "<";
  case CompareOp::le:
    return "<=";
  case CompareOp::gt:
    return ">";
  case CompareOp::ge:
    return ">=";
  }
  return "=";
}

std::string
format_duration(std::int64_t seconds)
{
  struct Unit
  {
    std::int64_t seconds;
    const char* name;
  };
  static const Unit units[] = {{604800, "week"}, {86400, "day"}, {3600, "hour"}, {60, "minute"}};
  for (const auto& unit : units) {
    if (seconds >= unit.seconds && seconds % unit.seconds == 0) {
      const auto n = seconds / unit.seconds;
      return std::to_string(n) + " " + unit.name + (n == 1 ? "" : "s");
    }
  }
  return std::to_string(seconds) + " seconds";
}

const Scenario*
Program::find_scenario(std::string_view id) const
{
  for (const auto& s : scenarios) {
    if (s.id == id) {
      return &s;
    }
  }
  return nullptr;
}

namespace {

// A comparison with an unknown value (NaN) is false whatever the operator: a customer
// without orders is neither `aov > 50` nor `aov != 50`.
bool
compare(double left, CompareOp op, double right)
{
  if (std::isnan(left) || std::isnan(right)) {
    return false;
  }
  switch (op) {
  case CompareOp::eq:
    return left == right;
  case CompareOp::ne:
    return left != right;
  case CompareOp::lt:
    return left < right;
  case CompareOp::le:
    return left <= right;
  case CompareOp::gt:
    return left > right;
  case CompareOp::ge:
    return left >= right;
  }
  return false;
}

bool
evaluate_at(const Condition& c, std::size_t i, const Program& program, const Facts& facts)
{
  const Node& n = c.nodes[i];
  switch (n.kind) {
  case NodeKind::constant:
    return n.number != 0;
  case NodeKind::all:
    for (std::size_t child = i + 1; child < i + n.size; child += c.nodes[child].size) {
      if (!evaluate_at(c, child, program, facts)) {
        return false;
      }
    }
    return true;
  case NodeKind::any:
    for (std::size_t child = i + 1; child < i + n.size; child += c.nodes[child].size) {
      if (evaluate_at(c, child, program, facts)) {
        return true;
      }
    }
    return false;
  case NodeKind::negate:
    return !evaluate_at(c, i + 1, program, facts);
  case NodeKind::compare_number:
    return compare(facts.number(n.attr), n.op, n.number);
  case NodeKind::compare_attrs:
    return compare(facts.number(n.attr), n.op, facts.number(n.attr2));
  case NodeKind::compare_text_attrs: {
    const bool equal = facts.text(n.attr) == facts.text(n.attr2);
    return n.op == CompareOp::eq ? equal : !equal;
  }
  case NodeKind::compare_text: {
    const bool equal = facts.text(n.attr) == program.strings[n.text];
    return n.op == CompareOp::eq ? equal : !equal;
  }
  case NodeKind::in_text: {
    const auto value = facts.text(n.attr);
    for (std::uint32_t k = 0; k < n.count; ++k) {
      if (value == program.strings[n.text + k]) {
        return true;
      }
    }
    return false;
  }
  case NodeKind::in_number: {
    const auto value = facts.number(n.attr);
    for (std::uint32_t k = 0; k < n.count; ++k) {
      if (value == program.numbers[n.text + k]) {
        return true;
      }
    }
    return false;
  }
  case NodeKind::flag:
    return facts.flag(n.attr);
  case NodeKind::segment:
    return evaluate(program.segments[n.text], program, facts);
  case NodeKind::event:
    return facts.event({n.event, n.count ? std::string_view(program.strings[n.text]) : std::string_view(),
                        n.within_seconds});
  }
  return false;
}

std::string
attribute_name(AttrId id, const Program& program)
{
  const auto& builtins = attributes();
  if (id < builtins.size()) {
    return std::string(builtins[id].name);
  }
  return "profile." + program.profile_fields.at(id - builtins.size());
}

// Shortest text that reads back to the same double: canonical for version hashes.
std::string
format_number(double value)
{
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string
quote(const std::string& text)
{
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + '"';
}

std::string
describe_at(const Condition& c, std::size_t i, const Program& program)
{
  const Node& n = c.nodes[i];
  switch (n.kind) {
  case NodeKind::constant:
    return n.number != 0 ? "true" : "false";
  case NodeKind::all:
  case NodeKind::any: {
    std::string out = "(";
    for (std::size_t child = i + 1; child < i + n.size; child += c.nodes[child].size) {
      if (child != i + 1) {
        out += n.kind == NodeKind::all ? " and " : " or ";
      }
      out += describe_at(c, child, program);
    }
    return out + ")";
  }
  case NodeKind::negate:
    return "not " + describe_at(c, i + 1, program);
  case NodeKind::compare_number:
    return attribute_name(n.attr, program) + " " + to_string(n.op) + " " + format_number(n.number);
  case NodeKind::compare_attrs:
  case NodeKind::compare_text_attrs:
    return attribute_name(n.attr, program) + " " + to_string(n.op) + " " + attribute_name(n.attr2, program);
  case NodeKind::compare_text:
    return attribute_name(n.attr, program) + " " + to_string(n.op) + " " + quote(program.strings[n.text]);
  case NodeKind::in_text:
  case NodeKind::in_number: {
    std::string out = attribute_name(n.attr, program) + " in (";
    for (std::uint32_t k = 0; k < n.count; ++k) {
      out += k ? ", " : "";
      out += n.kind == NodeKind::in_text ? quote(program.strings[n.text + k])
                                         : format_number(program.numbers[n.text + k]);
    }
    return out + ")";
  }
  case NodeKind::flag:
    return attribute_name(n.attr, program);
  case NodeKind::segment:
    return program.segment_names[n.text];
  case NodeKind::event: {
    std::string out = to_string(n.event);
    if (n.count) {
      out += " " + program.strings[n.text];
    }
    if (n.within_seconds) {
      out += " within " + format_duration(n.within_seconds);
    }
    return out;
  }
  }
  return "?";
}

// Feeds the version hash; every field goes in with its size so that adjacent values
// cannot run into each other.
class VersionHash
{
public:
  template<typename T>
  void value(const T& v)
  {
    static_assert(std::is_trivially_copyable_v<T>);
    m_bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void text(std::string_view s)
  {
    value(s.size());
    m_bytes.append(s);
  }
  void condition(const Condition& c, const Program& program)
  {
    value(c.nodes.size());
    for (const auto& n : c.nodes) {
      value(n.kind);
      value(n.op);
      value(n.event);
      value(n.size);
      value(n.count);
      value(n.number);
      value(n.within_seconds);
      switch (n.kind) {
      case NodeKind::compare_number:
      case NodeKind::flag:
        text(attribute_name(n.attr, program));
        break;
      case NodeKind::compare_attrs:
      case NodeKind::compare_text_attrs:
        text(attribute_name(n.attr, program));
        text(attribute_name(n.attr2, program));
        break;
      case NodeKind::compare_text:
        text(attribute_name(n.attr, program));
        text(program.strings[n.text]);
        break;
      case NodeKind::in_text:
        text(attribute_name(n.attr, program));
        for (std::uint32_t k = 0; k < n.count; ++k) {
          text(program.strings[n.text + k]);
        }
        break;
      case NodeKind::in_number:
        text(attribute_name(n.attr, program));
        for (std::uint32_t k = 0; k < n.count; ++k) {
          value(program.numbers[n.text + k]);
        }
        break;
      case NodeKind::event:
        if (n.count) {
          text(program.strings[n.text]);
        }
        break;
      case NodeKind::segment:
        // By content: editing a segment changes the versions of the scenarios using it.
        text(program.segment_names[n.text]);
        text(program.segment_versions[n.text]);
        break;
      default:
        break;
      }
    }
  }
  void send(const SendAction& s)
  {
    text(s.channel);
    text(s.template_name);
  }
  std::string hex() const
  {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx",
                  static_cast<unsigned long long>(XXH64(m_bytes.data(), m_bytes.size(), 0)));
    return buffer;
  }

private:
  std::string m_bytes; // hashed at once: one XXH64 call beats hundreds of tiny updates
};

} // namespace

std::string
condition_version(const Condition& condition, const Program& program)
{
  VersionHash h;
  h.condition(condition, program);
  return h.hex();
}

std::string
scenario_version(const Scenario& s, const Program& program)
{
  VersionHash h;
  h.text(s.id);
  h.value(s.entry);
  h.condition(s.when, program);
  h.text(s.on_event);
  h.condition(s.where, program);
  h.value(s.once);
  h.value(s.reenter_after_seconds);
  h.condition(s.exit, program);
  h.value(s.goal.has_value());
  if (s.goal) {
    h.value(s.goal->kind);
    h.text(s.goal->name);
    h.value(s.goal->within_seconds);
  }
  h.value(s.priority);
  h.value(s.cap_count.value_or(-1));
  h.value(s.cap_per_seconds);
  h.value(s.quiet_from_minute.value_or(-1));
  h.value(s.quiet_to_minute.value_or(-1));
  h.value(s.holdout_percent);
  h.text(s.active_from.value_or(""));
  h.text(s.active_to.value_or(""));
  h.value(s.steps.size());
  for (const auto& step : s.steps) {
    h.value(step.kind);
    h.condition(step.condition, program);
    h.value(step.delay_seconds);
    h.send(step.send);
    h.text(step.split_name);
    h.value(step.variants.size());
    for (const auto& v : step.variants) {
      h.text(v.name);
      h.value(v.weight);
      h.value(v.send.has_value());
      if (v.send) {
        h.send(*v.send);
      }
    }
    if (step.optimize != Step::Optimize::none) { // only then: the versions of other splits stay as they were
      h.text("optimize");
      h.value(step.optimize);
      h.value(step.warmup);
    }
  }
  return h.hex();
}

bool
evaluate(const Condition& condition, const Program& program, const Facts& facts)
{
  return condition.nodes.empty() || evaluate_at(condition, 0, program, facts);
}

std::string
describe(const Condition& condition, const Program& program)
{
  return condition.nodes.empty() ? "true" : describe_at(condition, 0, program);
}

std::string
canonical_text(const Scenario& s, const Program& program)
{
  std::string out = "scenario " + s.id + "\n";
  if (s.entry == Scenario::Entry::state) {
    out += "when " + describe(s.when, program) + "\n";
  } else {
    out += "on " + s.on_event + " where " + describe(s.where, program) + "\n";
  }
  out += s.once ? "once\n" : "reenter after " + std::to_string(s.reenter_after_seconds) + "s\n";
  out += "exit when " + (s.exit.always() ? std::string("never") : describe(s.exit, program)) + "\n";
  if (s.goal) {
    out += std::string("goal ") + to_string(s.goal->kind) + " " + s.goal->name + " within " +
           std::to_string(s.goal->within_seconds) + "s\n";
  }
  out += "priority " + std::to_string(s.priority) + "\n";
  if (s.cap_count) {
    out += "cap " + std::to_string(*s.cap_count) + " per " + std::to_string(s.cap_per_seconds) + "s\n";
  }
  if (s.quiet_from_minute) {
    out += "quiet " + std::to_string(*s.quiet_from_minute) + "-" + std::to_string(*s.quiet_to_minute) + "\n";
  }
  out += "holdout " + format_number(s.holdout_percent) + "\n";
  if (s.active_from) {
    out += "active " + *s.active_from + " to " + s.active_to.value_or("open") + "\n";
  }
  for (const auto& step : s.steps) {
    out += "step after " + std::to_string(step.delay_seconds) + "s if " + describe(step.condition, program) + ": ";
    switch (step.kind) {
    case Step::Kind::send:
      out += "send " + step.send.channel + " " + step.send.template_name;
      break;
    case Step::Kind::split:
      out += "split " + step.split_name + " {";
      for (const auto& v : step.variants) {
        out += " " + v.name + ":" + format_number(v.weight);
        if (v.send) {
          out += " send " + v.send->channel + " " + v.send->template_name;
        }
        out += ";";
      }
      out += " }";
      if (step.optimize != Step::Optimize::none) {
        out += std::string(" optimize for ") + to_string(step.optimize) + " warmup " + std::to_string(step.warmup);
      }
      break;
    }
    out += "\n";
  }
  return out;
}

} // namespace cvmd::dsl
