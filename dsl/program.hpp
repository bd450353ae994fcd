#pragma once
// The compiled, evaluable form of scenario files. The engine runs this and never sees the
// syntax tree: conditions are flat trees over attribute ids, evaluated without allocating.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cvmd::dsl {

// Index into attributes() for built-ins; attributes().size() + k for the k-th profile field.
using AttrId = std::uint16_t;

enum class NodeKind : std::uint8_t {
  constant,        // number != 0 is true
  all,             // and: children follow
  any,             // or: children follow
  negate,          // one child follows
  compare_number,  // attr OP number
  compare_attrs,   // attr OP attr2 (numbers)
  compare_text_attrs, // attr = / != attr2 (texts)
  compare_text,    // attr = / != text (strings[text])
  in_text,         // attr in strings[text .. text + count)
  in_number,       // attr in numbers[text .. text + count)
  flag,            // boolean attribute is true
  event,           // event predicate
  segment,         // Program::segments[text]: compiled once, shared by every use
};

enum class CompareOp : std::uint8_t { eq, ne, lt, le, gt, ge };

enum class EventKind : std::uint8_t { ordered, opened, clicked, received, unsubscribed, did };

const char* to_string(EventKind kind);
const char* to_string(CompareOp op);

// Preorder: the children of nodes[i] start at i + 1; the next sibling is at i + size.
struct Node
{
  NodeKind kind = NodeKind::constant;
  CompareOp op = CompareOp::eq;
  EventKind event = EventKind::ordered;
  AttrId attr = 0;
  AttrId attr2 = 0;
  std::uint32_t size = 1;   // nodes in this subtree, itself included
  std::uint32_t text = 0;   // index into Program::strings / Program::numbers; event name
  std::uint32_t count = 0;  // set size for in_*; 0 for events without a name
  double number = 0;
  std::int64_t within_seconds = 0; // events: 0 = since entry (in a scenario) / ever (in a segment)
};

struct Condition
{
  std::vector<Node> nodes; // empty: always true
  bool always() const { return nodes.empty(); }
};

struct EventQuery
{
  EventKind kind;
  std::string_view name; // template or event name; empty for any
  std::int64_t within_seconds;
};

// What the engine provides to evaluate a condition for one customer at one moment.
class Facts
{
public:
  virtual ~Facts() = default;
  virtual double number(AttrId attr) const = 0;        // NaN when unknown
  virtual std::string_view text(AttrId attr) const = 0; // empty when unknown
  virtual bool flag(AttrId attr) const = 0;
  virtual bool event(const EventQuery& query) const = 0;
};

struct SendAction
{
  std::string channel; // email | sms | webhook (from the template when not written)
  std::string template_name;
};

struct SplitVariant
{
  std::string name;
  double weight = 0; // percent
  std::optional<SendAction> send; // none: control
};

struct Step
{
  enum class Kind { send, split } kind = Kind::send;
  Condition condition; // evaluated when the step is due
  std::int64_t delay_seconds = 0; // from the previous step (the first: from entry), waits included
  SendAction send;
  std::string split_name;
  std::vector<SplitVariant> variants;
  // `optimize for clicks|conversions [warmup N]`: the first `warmup` recipients of each
  // variant are assigned by the written weights, later ones adaptively by the metric.
  enum class Optimize
  {
    none,
    clicks,
    conversions
  } optimize = Optimize::none;
  int warmup = 100; // recipients per variant; meaningful only when optimize != none
  int line = 0;
};

const char* to_string(Step::Optimize optimize); // "none", "clicks", "conversions"

struct Goal
{
  EventKind kind = EventKind::ordered;
  std::string name;
  std::int64_t within_seconds = 0;
};

struct Scenario
{
  std::string id;    // lower-case name: the identity across versions
  std::string title;
  std::string file;
  int line = 0;
  std::string version; // 16 hex digits of a hash over the compiled content
  bool from_rule = false;

  enum class Entry { state, event } entry = Entry::state;
  Condition when;          // state entry
  std::string on_event;    // event entry
  Condition where;
  bool once = true;
  std::int64_t reenter_after_seconds = 0;
  Condition exit;
  std::optional<Goal> goal;
  int priority = 0;
  std::optional<int> cap_count;
  std::int64_t cap_per_seconds = 0;
  std::optional<int> quiet_from_minute; // minutes after midnight, customer's time zone
  std::optional<int> quiet_to_minute;
  double holdout_percent = 0;
  std::optional<std::string> active_from; // YYYY-MM-DD
  std::optional<std::string> active_to;
  std::vector<Step> steps;
};

struct Program
{
  std::vector<std::string> strings;
  std::vector<double> numbers;
  std::vector<std::string> profile_fields; // AttrId = attributes().size() + index
  std::vector<Scenario> scenarios;
  std::vector<std::string> segment_names;
  std::vector<Condition> segments; // same order as segment_names
  std::vector<std::string> segment_versions; // content hashes, folded into scenario versions

  const Scenario* find_scenario(std::string_view id) const;
};

bool evaluate(const Condition& condition, const Program& program, const Facts& facts);

// "3 days", "2 weeks", "90 seconds": the largest unit that divides evenly.
std::string format_duration(std::int64_t seconds);

// A readable listing of what the scenario does.
std::string describe(const Condition& condition, const Program& program);
std::string canonical_text(const Scenario& scenario, const Program& program);

// 16 hex digits of XXH64 over the compiled content: what the scenario does, by names and
// values, never by table positions that depend on other scenarios. Layout, comments, the
// title and template wording do not count.
std::string scenario_version(const Scenario& scenario, const Program& program);
// The same for one condition; segments it uses must have their versions already.
std::string condition_version(const Condition& condition, const Program& program);

} // namespace cvmd::dsl
