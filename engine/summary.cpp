#include "engine/summary.hpp"

#include <cstdio>

namespace cvmd {

namespace {

std::string
describe_send(const dsl::SendAction& send)
{
  return "send " + (send.channel.empty() ? std::string() : send.channel + " ") + "'" + send.template_name + "'";
}

std::string
format_percent(double value)
{
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g%%", value);
  return buffer;
}

} // namespace

std::string
summarize(const dsl::Program& program)
{
  std::string out;
  for (const auto& s : program.scenarios) {
    out += s.id + " — " + s.title + "\n";
    out += "  " + s.file + ":" + std::to_string(s.line) + ", version " + s.version + "\n";
    if (s.entry == dsl::Scenario::Entry::state) {
      out += "  enters when " + dsl::describe(s.when, program) + " becomes true\n";
    } else {
      out += "  enters on the event '" + s.on_event + "'";
      out += s.where.always() ? "\n" : " where " + dsl::describe(s.where, program) + "\n";
    }
    out += s.once ? "  at most once per customer\n"
                  : "  again at the earliest " + dsl::format_duration(s.reenter_after_seconds) + " after entering\n";
    if (!s.exit.always()) {
      out += "  leaves as soon as " + dsl::describe(s.exit, program) + "\n";
    }
    if (s.goal) {
      out += std::string("  converts on ") + dsl::to_string(s.goal->kind) +
             (s.goal->name.empty() ? "" : " " + s.goal->name) + " within " + dsl::format_duration(s.goal->within_seconds) +
             "\n";
    }
    if (s.holdout_percent > 0) {
      out += "  holds out " + format_percent(s.holdout_percent) + " as a control group\n";
    }
    if (s.cap_count) {
      out += "  sends at most " + std::to_string(*s.cap_count) + " per " + dsl::format_duration(s.cap_per_seconds) + "\n";
    }
    if (s.quiet_from_minute) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%02d:%02d-%02d:%02d", *s.quiet_from_minute / 60, *s.quiet_from_minute % 60,
                    *s.quiet_to_minute / 60, *s.quiet_to_minute % 60);
      out += std::string("  quiet hours ") + buffer + " in the customer's time zone\n";
    }
    if (s.active_from) {
      out += "  active from " + *s.active_from + (s.active_to ? " to " + *s.active_to : std::string()) + "\n";
    }
    if (s.priority) {
      out += "  priority " + std::to_string(s.priority) + "\n";
    }
    int number = 0;
    for (const auto& step : s.steps) {
      out += "  " + std::to_string(++number) + ". ";
      out += step.delay_seconds ? "after " + dsl::format_duration(step.delay_seconds) : std::string("right away");
      out += step.condition.always() ? ": " : ", if " + dsl::describe(step.condition, program) + ": ";
      if (step.kind == dsl::Step::Kind::send) {
        out += describe_send(step.send);
      } else {
        out += "split '" + step.split_name + "'";
        if (step.optimize != dsl::Step::Optimize::none) {
          out += std::string(", optimized for ") + dsl::to_string(step.optimize) + " after a warm-up of " +
                 std::to_string(step.warmup) + " per variant";
        }
        out += ":";
        for (const auto& v : step.variants) {
          out += " " + v.name + " " + format_percent(v.weight) + " " + (v.send ? describe_send(*v.send) : "(no message)") +
                 ";";
        }
        out.pop_back();
      }
      out += "\n";
    }
    out += "\n";
  }
  return out;
}

} // namespace cvmd
