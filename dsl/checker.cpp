#include "checker.hpp"

#include "checker_context.hpp"
#include "keywords.hpp"
#include "satisfiability.hpp"
#include "suggest.hpp"

#include <chrono>
#include <cmath>
#include <set>
#include <unordered_map>

namespace cvmd::dsl {

namespace x3 = boost::spirit::x3;

namespace {

bool
is_whole(double value)
{
  return std::floor(value) == value && std::abs(value) < 1e9;
}

class Checker
{
public:
  Checker(Symbols& symbols, Diagnostics& diagnostics) : m_context{symbols, diagnostics}, m_contradictions(symbols) {}

  void run(const std::vector<ParsedFile>& files)
  {
    for (const auto& file : files) {
      symbols().broken_names.insert(file.broken_names.begin(), file.broken_names.end());
      m_context.file = &file;
      for (const auto& d : file.declarations) {
        collect(d);
      }
    }
    find_cycles();
    for (const auto& name : symbols().segment_order) {
      const auto& symbol = symbols().segments.at(name);
      m_context.file = symbol.file;
      const auto errors = m_context.diagnostics.error_count();
      check_expression(m_context, symbol.declaration->definition);
      auto& checked = symbols().segments.at(name);
      checked.has_errors = checked.too_deep || m_context.diagnostics.error_count() != errors;
      if (!symbol.in_cycle && !symbol.has_errors &&
          m_contradictions.judge(symbol.declaration->definition) == ContradictionFinder::Verdict::never) {
        m_context.warning(symbol.declaration->definition,
                          "segment '" + symbol.declaration->name.text + "' can never match: its condition contradicts itself");
      }
    }
    for (const auto& s : symbols().scenarios) {
      m_context.file = s.file;
      if (s.scenario) {
        scenario(*s.scenario);
      } else {
        rule(*s.rule);
      }
    }
    for (const auto& name : symbols().segment_order) {
      const auto& symbol = symbols().segments.at(name);
      if (!symbol.used) {
        m_context.file = symbol.file;
        m_context.warning(symbol.declaration->name,
                          "segment '" + symbol.declaration->name.text + "' is never used by a scenario or rule");
      }
    }
  }

private:
  Symbols& symbols() { return m_context.symbols; }

  // A declared name must not be a keyword or hide a built-in.
  bool check_declared_name(const ast::Name& name, const char* what)
  {
    const auto lower = to_lower(name.text);
    if (is_reserved_word(lower)) {
      m_context.error(name, "'" + name.text + "' is a keyword and cannot name a " + what + "; choose another name");
      return false;
    }
    if (std::string(what) == "segment") {
      if (find_attribute(lower)) {
        m_context.error(name, "'" + name.text + "' is a built-in attribute; choose another name for the segment");
        return false;
      }
      if (const auto* b = find_builtin_segment(lower)) {
        m_context.error(name, "'" + name.text + "' is the built-in segment " + std::string(b->attribute) + " = \"" +
                                std::string(b->value) + "\"; choose another name");
        return false;
      }
    }
    return true;
  }

  void duplicate(const ast::Name& name, const char* what, const ParsedFile& first_file, const ast::Name& first)
  {
    auto& d = m_context.error(name, std::string(what) + " '" + name.text + "' is already defined");
    d.notes.push_back(m_context.note(first_file, first, "first defined here"));
  }

  void collect(const ast::Declaration& declaration)
  {
    if (const auto* segment = boost::get<ast::Segment>(&declaration)) {
      if (!check_declared_name(segment->name, "segment")) {
        return;
      }
      const auto lower = to_lower(segment->name.text);
      if (auto it = symbols().segments.find(lower); it != symbols().segments.end()) {
        duplicate(segment->name, "segment", *it->second.file, it->second.declaration->name);
        return;
      }
      symbols().segments[lower] = SegmentSymbol{m_context.file, segment};
      symbols().segment_order.push_back(lower);
      return;
    }
    const auto* scenario = boost::get<ast::Scenario>(&declaration);
    const auto* rule = boost::get<ast::Rule>(&declaration);
    const auto& name = scenario ? scenario->name : rule->name;
    if (!check_declared_name(name, scenario ? "scenario" : "rule")) {
      return;
    }
    const auto [it, fresh] = m_scenario_index.try_emplace(to_lower(name.text), symbols().scenarios.size());
    if (!fresh) {
      const auto& other = symbols().scenarios[it->second];
      duplicate(name, scenario ? "scenario" : "rule", *other.file, other.scenario ? other.scenario->name : other.rule->name);
      return;
    }
    symbols().scenarios.push_back(ScenarioSymbol{m_context.file, scenario, rule});
  }

  // Segment references form a graph; a cycle would make a segment its own definition, and
  // a very deep stack of segments would make evaluation recursion unbounded. Iterative,
  // so that a long chain of segments cannot exhaust the stack here either.
  static constexpr int max_segment_depth = 32;

  void find_cycles()
  {
    struct Frame
    {
      std::string name;
      std::vector<const ast::Reference*> references;
      std::size_t next = 0;
      int height = 1;
    };
    std::unordered_map<std::string, int> state; // 1: on the path, 2: done
    std::unordered_map<std::string, int> height;
    for (const auto& root : symbols().segment_order) {
      if (state[root] != 0) {
        continue;
      }
      std::vector<Frame> stack;
      auto enter = [&](const std::string& name) {
        state[name] = 1;
        stack.push_back(Frame{name, references_in(symbols().segments.at(name).declaration->definition)});
      };
      enter(root);
      while (!stack.empty()) {
        const auto top = stack.size() - 1;
        if (stack[top].next == stack[top].references.size()) {
          finish(stack[top].name, stack[top].height);
          state[stack[top].name] = 2;
          height[stack[top].name] = stack[top].height;
          const int finished_height = stack[top].height;
          stack.pop_back();
          if (!stack.empty()) {
            stack.back().height = std::max(stack.back().height, finished_height + 1);
          }
          continue;
        }
        const auto* ref = stack[top].references[stack[top].next++];
        const auto target = to_lower(ref->text);
        if (!symbols().segments.count(target)) {
          continue;
        }
        if (state[target] == 1) {
          report_cycle(stack[top].name, *ref, target, [&] {
            std::vector<std::string> path;
            for (const auto& frame : stack) {
              path.push_back(frame.name);
            }
            return path;
          }());
        } else if (state[target] == 2) {
          stack[top].height = std::max(stack[top].height, height[target] + 1);
        } else {
          enter(target);
        }
      }
    }
  }

  void finish(const std::string& name, int segment_height)
  {
    auto& symbol = symbols().segments.at(name);
    if (segment_height <= max_segment_depth) {
      return;
    }
    symbol.too_deep = true;
    if (segment_height == max_segment_depth + 1) {
      const auto* saved = m_context.file;
      m_context.file = symbol.file;
      m_context.error(symbol.declaration->name, "segment '" + symbol.declaration->name.text + "' tops a chain of " +
                                                   std::to_string(segment_height) +
                                                   " segments defined through each other; at most " +
                                                   std::to_string(max_segment_depth) + " are allowed");
      m_context.file = saved;
    }
  }

  void report_cycle(const std::string& from, const ast::Reference& ref, const std::string& target,
                    const std::vector<std::string>& path)
  {
    auto start = std::find(path.begin(), path.end(), target);
    std::string chain;
    for (auto it = start; it != path.end(); ++it) {
      chain += *it + " -> ";
      symbols().segments.at(*it).in_cycle = true;
    }
    chain += target;
    const auto* saved = m_context.file;
    m_context.file = symbols().segments.at(from).file;
    m_context.error(ref, "segment cycle: " + chain + " (a segment cannot be defined through itself)");
    m_context.file = saved;
  }

  void condition(const ast::Expr& e, const char* role, const ast::Expr* exit = nullptr)
  {
    const auto errors = m_context.diagnostics.error_count();
    check_expression(m_context, e);
    mark_used(e, symbols());
    if (m_context.diagnostics.error_count() != errors) {
      return; // a wrong condition is not also reported as impossible
    }
    const auto verdict = m_contradictions.judge(e, exit);
    if (verdict == ContradictionFinder::Verdict::never) {
      m_context.warning(e, std::string(role) + " can never be true: it contradicts itself");
    } else if (verdict == ContradictionFinder::Verdict::never_unless_false) {
      m_context.warning(e, std::string(role) + " can never be true while the scenario runs: 'exit when' ends the chain first");
    }
  }

  bool percent(const ast::Percent& p, const char* what)
  {
    if (p.value < 0 || p.value > 100) {
      m_context.error(p, std::string(what) + " must be between 0% and 100%");
      return false;
    }
    return true;
  }

  void date(const ast::Date& d)
  {
    using namespace std::chrono;
    const year_month_day ymd{year{d.year}, month{static_cast<unsigned>(d.month)}, day{static_cast<unsigned>(d.day)}};
    if (!ymd.ok()) {
      m_context.error(d, "impossible date " + std::to_string(d.year) + "-" + (d.month < 10 ? "0" : "") +
                           std::to_string(d.month) + "-" + (d.day < 10 ? "0" : "") + std::to_string(d.day));
    }
  }

  void clock(const ast::ClockTime& t)
  {
    if (t.hour > 23 || t.minute > 59) {
      m_context.error(t, "impossible time of day " + std::to_string(t.hour) + ":" + (t.minute < 10 ? "0" : "") +
                           std::to_string(t.minute) + "; use 00:00 to 23:59");
    }
  }

  void action(const ast::Action& a, std::set<std::string>& split_names, const SplitPlace& place)
  {
    if (const auto* s = boost::get<ast::Send>(&a)) {
      check_send(m_context, *s);
    } else {
      check_split(m_context, boost::get<ast::Split>(a), split_names, place);
    }
  }

  void rule(const ast::Rule& r)
  {
    std::set<std::string> split_names;
    condition(r.step.condition, "the rule's condition");
    action(r.step.action, split_names, SplitPlace{true, false});
    if (r.step.delay) {
      check_duration(m_context, *r.step.delay, "the delay after 'after'");
    }
  }

  template<typename Setting>
  const Setting* single(const ast::Scenario& s, const char* what)
  {
    const Setting* found = nullptr;
    for (const auto& item : s.items) {
      if (const auto* setting = boost::get<Setting>(&item)) {
        if (found) {
          m_context.error(*setting, std::string("'") + what + "' is given twice in this scenario");
        } else {
          found = setting;
        }
      }
    }
    return found;
  }

  void event_name(const ast::Name& event)
  {
    const auto lower = to_lower(event.text);
    const auto& known = known_events();
    if (std::find(known.begin(), known.end(), lower) != known.end()) {
      return;
    }
    const std::vector<std::string> names(known.begin(), known.end());
    if (const auto match = closest_match(lower, names)) {
      m_context.warning(event, "'" + event.text + "' is not a built-in event (did you mean '" + *match +
                                 "'?); a custom event of that name is fine if your shop sends it");
    }
  }

  void scenario(const ast::Scenario& s)
  {
    const auto* when = single<ast::WhenSetting>(s, "when");
    const auto* on = single<ast::OnSetting>(s, "on");
    const auto* once = single<ast::OnceSetting>(s, "once");
    const auto* reenter = single<ast::ReenterSetting>(s, "reenter");
    const auto* exit = single<ast::ExitSetting>(s, "exit when");
    const auto* goal = single<ast::GoalSetting>(s, "goal");
    const auto* priority = single<ast::PrioritySetting>(s, "priority");
    const auto* cap = single<ast::CapSetting>(s, "cap");
    const auto* quiet = single<ast::QuietSetting>(s, "quiet hours");
    const auto* holdout = single<ast::HoldoutSetting>(s, "holdout");
    const auto* active = single<ast::ActiveSetting>(s, "active");

    if (!when && !on) {
      m_context.error(s.name, "scenario '" + s.name.text +
                                "' has no entry: add `when CONDITION` or `on EVENT` before its steps");
    } else if (when && on) {
      m_context.error(*on, "a scenario enters either `when` a condition becomes true or `on` an event, not both");
    }
    if (when) {
      condition(when->condition, "the entry condition");
    }
    if (on) {
      event_name(on->event);
    }
    if (on && on->where) {
      condition(*on->where, "the 'where' condition");
    }
    if (once && reenter) {
      m_context.error(*reenter, "'once' and 'reenter after' contradict each other; keep one");
    }
    if (reenter) {
      check_duration(m_context, reenter->after, "the time after 'reenter after'");
    }
    if (exit) {
      condition(exit->condition, "the exit condition");
    }
    if (goal) {
      check_event(m_context, goal->event);
      if (!goal->event.within) {
        m_context.error(goal->event, "a goal needs a window: e.g. goal ordered within 14 days");
      }
    }
    if (priority && (!is_whole(priority->value.value) || priority->value.value < 0)) {
      m_context.error(priority->value, "priority must be a whole number, 0 or more (higher wins)");
    }
    if (cap) {
      if (!is_whole(cap->count.value) || cap->count.value < 1) {
        m_context.error(cap->count, "a cap counts messages: a whole number, 1 or more");
      }
      check_duration(m_context, cap->per, "the period after 'per'");
    }
    if (quiet) {
      clock(quiet->from);
      clock(quiet->to);
      if (quiet->from.hour == quiet->to.hour && quiet->from.minute == quiet->to.minute) {
        m_context.error(*quiet, "quiet hours start and end at the same time");
      }
    }
    if (holdout) {
      if (percent(holdout->share, "a holdout") && holdout->share.value >= 100) {
        m_context.error(holdout->share, "a holdout of 100% would message no one");
      }
    }
    if (active) {
      date(active->from);
      if (active->to) {
        date(*active->to);
        const auto key = [](const ast::Date& d) { return d.year * 10000 + d.month * 100 + d.day; };
        if (key(*active->to) < key(active->from)) {
          m_context.error(*active->to, "the end date is before the start date");
        }
      }
    }
    steps(s, exit ? &exit->condition : nullptr, SplitPlace{false, goal != nullptr});
  }

  void steps(const ast::Scenario& s, const ast::Expr* exit, const SplitPlace& place)
  {
    std::set<std::string> split_names;
    const ast::WaitStep* trailing_wait = nullptr;
    std::size_t step_count = 0;
    for (const auto& item : s.items) {
      if (const auto* g = boost::get<ast::GuardedStep>(&item)) {
        condition(g->condition, "this step's condition", exit);
        action(g->action, split_names, place);
        if (g->delay) {
          check_duration(m_context, *g->delay, "the delay after 'after'");
        }
      } else if (const auto* a = boost::get<ast::ActionStep>(&item)) {
        action(a->action, split_names, place);
        if (a->delay) {
          check_duration(m_context, *a->delay, "the delay after 'after'");
        }
        if (a->guard) {
          if (a->guard->keyword == "if") {
            condition(a->guard->condition, "this step's condition", exit);
          } else {
            check_expression(m_context, a->guard->condition);
            mark_used(a->guard->condition, symbols());
          }
        }
      } else if (const auto* w = boost::get<ast::WaitStep>(&item)) {
        check_duration(m_context, w->duration, "a wait");
        trailing_wait = w;
        ++step_count;
        continue;
      } else {
        continue;
      }
      trailing_wait = nullptr;
      ++step_count;
    }
    if (step_count == 0) {
      m_context.warning(s.name, "scenario '" + s.name.text + "' has no steps: it enrolls customers but sends nothing");
    }
    if (trailing_wait) {
      m_context.warning(*trailing_wait, "a wait at the end of a scenario does nothing; remove it or add a step after it");
    }
  }

  CheckerContext m_context;
  ContradictionFinder m_contradictions;
  std::unordered_map<std::string, std::size_t> m_scenario_index; // lower-case name -> symbols().scenarios
};

} // namespace

void
check(const std::vector<ParsedFile>& files,
      const TemplateCatalog& templates,
      Symbols& symbols,
      Diagnostics& diagnostics)
{
  symbols.templates = &templates;
  Checker(symbols, diagnostics).run(files);
}

} // namespace cvmd::dsl
