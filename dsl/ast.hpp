#pragma once
// The syntax tree the grammar produces. Every node a diagnostic can point at is
// position_tagged; the checker and the compiler read this tree, the engine never does.

#include <boost/optional.hpp>
#include <boost/spirit/home/x3/support/ast/position_tagged.hpp>
#include <boost/spirit/home/x3/support/ast/variant.hpp>

#include <string>
#include <vector>

namespace cvmd::dsl::ast {

namespace x3 = boost::spirit::x3;

struct Name : x3::position_tagged
{
  std::string text; // as written; compare with lower_name()
};

struct Number : x3::position_tagged
{
  double value = 0;
};

struct String : x3::position_tagged
{
  std::string value;
};

struct Boolean : x3::position_tagged
{
  std::string text; // "true" or "false", any case
};

struct Duration : x3::position_tagged
{
  double amount = 0;
  std::string unit;
};

struct Percent : x3::position_tagged
{
  double value = 0;
};

struct Date : x3::position_tagged
{
  int year = 0;
  int month = 0;
  int day = 0;
};

struct ClockTime : x3::position_tagged
{
  int hour = 0;
  int minute = 0;
};

// An attribute, a segment name or a profile field: which one is decided by the checker.
struct Reference : x3::position_tagged
{
  std::string text; // "aov", "lapsing", "profile.country"
};

struct Operand : x3::variant<Reference, Number, String, Boolean>
{
  using base_type::base_type;
  using base_type::operator=;
};

struct CompareTail : x3::position_tagged
{
  std::string op; // = != < <= > >=
  Operand rhs;
};

struct BetweenTail : x3::position_tagged
{
  Operand low;
  Operand high;
};

struct InTail : x3::position_tagged
{
  bool negated = false;
  std::vector<Operand> values;
};

struct ConditionTail : x3::variant<CompareTail, BetweenTail, InTail>
{
  using base_type::base_type;
  using base_type::operator=;
};

// `aov > 50`, `x between 1 and 2`, `x not in ("a")`, or a bare `lapsing`.
struct Condition : x3::position_tagged
{
  Operand subject;
  boost::optional<ConditionTail> tail;
};

// ordered | opened [T] | clicked [T] | received [T] | unsubscribed | did NAME, [within D]
struct EventPredicate : x3::position_tagged
{
  std::string kind; // lower-case keyword
  boost::optional<Name> target;
  boost::optional<Duration> within;
};

struct Expr;
struct Negation;

struct Primary : x3::variant<x3::forward_ast<Expr>, x3::forward_ast<Negation>, EventPredicate, Condition>
{
  using base_type::base_type;
  using base_type::operator=;
};

struct Negation : x3::position_tagged
{
  Primary operand;
};

struct Conjunction : x3::position_tagged
{
  std::vector<Primary> terms; // joined by `and`
};

struct Expr : x3::position_tagged
{
  std::vector<Conjunction> terms; // joined by `or`
};

struct Send : x3::position_tagged
{
  boost::optional<Name> channel; // email | sms | webhook
  Name template_name;
};

struct Variant : x3::position_tagged
{
  Name name;
  Percent weight;
  boost::optional<Send> send; // none: a control variant, measured and never messaged
};

// `optimize for clicks|conversions [warmup N]`: adaptive allocation after N per variant.
struct Optimize : x3::position_tagged
{
  std::string metric; // "clicks" or "conversions"
  boost::optional<Number> warmup;
};

struct Split : x3::position_tagged
{
  boost::optional<Name> name;
  boost::optional<Optimize> optimize;
  std::vector<Variant> variants;
};

struct Action : x3::variant<Send, Split>
{
  using base_type::base_type;
  using base_type::operator=;
};

// `if C then A [after D]`
struct GuardedStep : x3::position_tagged
{
  Expr condition;
  Action action;
  boost::optional<Duration> delay;
};

struct StepGuard : x3::position_tagged
{
  std::string keyword; // "if" or "unless"
  Expr condition;
};

// `A [after D] [if|unless C]`
struct ActionStep : x3::position_tagged
{
  Action action;
  boost::optional<Duration> delay;
  boost::optional<StepGuard> guard;
};

struct WaitStep : x3::position_tagged
{
  Duration duration;
};

struct WhenSetting : x3::position_tagged { Expr condition; };
struct OnSetting : x3::position_tagged { Name event; boost::optional<Expr> where; };
struct OnceSetting : x3::position_tagged { std::string keyword; };
struct ReenterSetting : x3::position_tagged { Duration after; };
struct ExitSetting : x3::position_tagged { Expr condition; };
struct GoalSetting : x3::position_tagged { EventPredicate event; }; // its `within` is the window
struct PrioritySetting : x3::position_tagged { Number value; };
struct CapSetting : x3::position_tagged { Number count; Duration per; };
struct QuietSetting : x3::position_tagged { ClockTime from; ClockTime to; };
struct HoldoutSetting : x3::position_tagged { Percent share; };
struct ActiveSetting : x3::position_tagged { Date from; boost::optional<Date> to; };

struct Item
  : x3::variant<WhenSetting, OnSetting, OnceSetting, ReenterSetting, ExitSetting, GoalSetting,
                PrioritySetting, CapSetting, QuietSetting, HoldoutSetting, ActiveSetting,
                WaitStep, GuardedStep, ActionStep>
{
  using base_type::base_type;
  using base_type::operator=;
};

struct Scenario : x3::position_tagged
{
  Name name;
  boost::optional<String> title;
  std::vector<Item> items;
};

struct Segment : x3::position_tagged
{
  Name name;
  Expr definition;
};

struct Rule : x3::position_tagged
{
  Name name;
  GuardedStep step;
};

struct Declaration : x3::variant<Segment, Rule, Scenario>
{
  using base_type::base_type;
  using base_type::operator=;
};

} // namespace cvmd::dsl::ast
