#pragma once
// The scenario grammar. Keywords are case-insensitive and end at a word boundary;
// `>` marks the points after which a mismatch is an error with "expected ...".

#include "ast.hpp"
#include "ast_adapted.hpp"
#include "error_handler.hpp"
#include "grammar.hpp"
#include "parser_primitives.hpp"

#include <boost/spirit/home/x3.hpp>

namespace cvmd::dsl::parser {

namespace x3 = boost::spirit::x3;

const x3::rule<struct condition_start_class> condition_start = "a condition";
inline const auto condition_start_def = condition_start_parser{};

struct comparison_symbols : x3::symbols<std::string>
{
  comparison_symbols()
  {
    add("=", "=")("==", "=")("!=", "!=")("<>", "!=")("<", "<")("<=", "<=")(">", ">")(">=", ">=");
  }
};
struct unit_symbols : x3::symbols<std::string>
{
  unit_symbols()
  {
    add("minute", "minute")("minutes", "minute")("min", "minute")("mins", "minute");
    add("hour", "hour")("hours", "hour")("day", "day")("days", "day")("week", "week")("weeks", "week");
  }
};
struct event_symbols : x3::symbols<std::string>
{
  event_symbols()
  {
    add("ordered", "ordered")("opened", "opened")("clicked", "clicked")("received", "received");
    add("unsubscribed", "unsubscribed")("did", "did");
  }
};
struct channel_symbols : x3::symbols<std::string>
{
  channel_symbols() { add("email", "email")("sms", "sms")("webhook", "webhook"); }
};
struct boolean_symbols : x3::symbols<std::string>
{
  boolean_symbols() { add("true", "true")("false", "false"); }
};
struct guard_symbols : x3::symbols<std::string>
{
  guard_symbols() { add("if", "if")("unless", "unless"); }
};
struct metric_symbols : x3::symbols<std::string>
{
  metric_symbols() { add("clicks", "clicks")("conversions", "conversions"); }
};

inline const comparison_symbols comparison_op;
inline const unit_symbols unit_word;
inline const event_symbols event_word;
inline const channel_symbols channel_word;
inline const boolean_symbols boolean_word;
inline const guard_symbols guard_word;
inline const metric_symbols metric_word;

// Rule ids. Those deriving from annotate_position tag their node with its place.
struct decl_name_class : annotate_position {};
struct ref_name_class : annotate_position {};
struct channel_name_class : annotate_position {};
struct number_class : annotate_position {};
struct string_class : annotate_position {};
struct boolean_class : annotate_position {};
struct unit_class {};
struct duration_class : annotate_position {};
struct percent_class : annotate_position {};
struct date_class : annotate_position {};
struct clock_class : annotate_position {};
struct reference_class : annotate_position {};
struct operand_class : annotate_position {};
struct compare_tail_class : annotate_position {};
struct between_tail_class : annotate_position {};
struct in_tail_class : annotate_position {};
struct condition_class : annotate_position {};
struct event_class : annotate_position {};
struct primary_class : annotate_position {};
struct negation_class : annotate_position {};
struct conjunction_class : annotate_position {};
struct expr_class : annotate_position {};
struct send_class : annotate_position {};
struct variant_class : annotate_position {};
struct metric_class {};
struct open_brace_class {};
struct optimize_class : annotate_position {};
struct split_class : annotate_position {};
struct action_class : annotate_position {};
struct guarded_step_class : annotate_position {};
struct step_guard_class : annotate_position {};
struct action_step_class : annotate_position {};
struct wait_class : annotate_position {};
struct when_class : annotate_position {};
struct on_class : annotate_position {};
struct once_class : annotate_position {};
struct reenter_class : annotate_position {};
struct exit_class : annotate_position {};
struct goal_class : annotate_position {};
struct priority_class : annotate_position {};
struct cap_class : annotate_position {};
struct quiet_class : annotate_position {};
struct holdout_class : annotate_position {};
struct active_class : annotate_position {};
struct item_class : annotate_position {};
struct scenario_class : annotate_position {};
struct segment_class : annotate_position {};
struct rule_class : annotate_position {};
struct declaration_class : annotate_position, report_expectation_failure {};

// The rule names are what "expected ..." says.
const x3::rule<decl_name_class, ast::Name> decl_name = "a name";
const x3::rule<ref_name_class, ast::Name> ref_name = "a name";
const x3::rule<channel_name_class, ast::Name> channel_name = "a channel (email, sms or webhook)";
const x3::rule<number_class, ast::Number> number = "a number";
const x3::rule<string_class, ast::String> string_literal = "a string";
const x3::rule<boolean_class, ast::Boolean> boolean = "true or false";
const x3::rule<unit_class, std::string> unit = "a time unit (minutes, hours, days or weeks)";
const x3::rule<duration_class, ast::Duration> duration = "a duration (e.g. 3 days)";
const x3::rule<percent_class, ast::Percent> percent = "a percentage (e.g. 10%)";
const x3::rule<date_class, ast::Date> date = "a date (YYYY-MM-DD)";
const x3::rule<clock_class, ast::ClockTime> clock_time = "a time of day (HH:MM)";
const x3::rule<reference_class, ast::Reference> reference = "an attribute or segment name";
const x3::rule<operand_class, ast::Operand> operand = "a value (a number, a \"string\", true, false or an attribute)";
const x3::rule<compare_tail_class, ast::CompareTail> compare_tail = "a comparison";
const x3::rule<between_tail_class, ast::BetweenTail> between_tail = "between";
const x3::rule<in_tail_class, ast::InTail> in_tail = "in";
const x3::rule<condition_class, ast::Condition> condition = "a condition";
const x3::rule<event_class, ast::EventPredicate> event_predicate = "an event (ordered, opened, clicked, received, unsubscribed, did NAME)";
const x3::rule<primary_class, ast::Primary> primary = "a condition";
const x3::rule<negation_class, ast::Negation> negation = "a condition";
const x3::rule<conjunction_class, ast::Conjunction> conjunction = "a condition";
const x3::rule<expr_class, ast::Expr> expr = "a condition";
const x3::rule<send_class, ast::Send> send = "send";
const x3::rule<variant_class, ast::Variant> variant = "a split variant (NAME: PERCENT [send TEMPLATE])";
const x3::rule<metric_class, std::string> metric = "'clicks' or 'conversions'";
const x3::rule<open_brace_class> open_brace = "'{'";
const x3::rule<optimize_class, ast::Optimize> optimize_clause = "optimize for";
const x3::rule<split_class, ast::Split> split = "split";
const x3::rule<action_class, ast::Action> action = "an action (send TEMPLATE or split { ... })";
const x3::rule<guarded_step_class, ast::GuardedStep> guarded_step = "a step";
const x3::rule<step_guard_class, ast::StepGuard> step_guard = "if or unless";
const x3::rule<action_step_class, ast::ActionStep> action_step = "a step";
const x3::rule<wait_class, ast::WaitStep> wait_step = "wait";
const x3::rule<when_class, ast::WhenSetting> when_setting = "when";
const x3::rule<on_class, ast::OnSetting> on_setting = "on";
const x3::rule<once_class, ast::OnceSetting> once_setting = "once";
const x3::rule<reenter_class, ast::ReenterSetting> reenter_setting = "reenter";
const x3::rule<exit_class, ast::ExitSetting> exit_setting = "exit";
const x3::rule<goal_class, ast::GoalSetting> goal_setting = "goal";
const x3::rule<priority_class, ast::PrioritySetting> priority_setting = "priority";
const x3::rule<cap_class, ast::CapSetting> cap_setting = "cap";
const x3::rule<quiet_class, ast::QuietSetting> quiet_setting = "quiet hours";
const x3::rule<holdout_class, ast::HoldoutSetting> holdout_setting = "holdout";
const x3::rule<active_class, ast::ActiveSetting> active_setting = "active";
const x3::rule<item_class, ast::Item> item = "a setting or a step";
const x3::rule<scenario_class, ast::Scenario> scenario = "scenario";
const x3::rule<segment_class, ast::Segment> segment = "segment";
const x3::rule<rule_class, ast::Rule> rule_declaration = "rule";
const declaration_type declaration = "'segment', 'rule' or 'scenario'";

using x3::lexeme;
using x3::lit;
using x3::no_case;

inline const auto decl_name_def = declared_identifier;
inline const auto ref_name_def = reference_identifier;
inline const auto channel_name_def = lexeme[no_case[channel_word] >> word_end];
inline const auto number_def = number_value;
inline const auto string_literal_def = string_parser{};
inline const auto boolean_def = lexeme[no_case[boolean_word] >> word_end];
inline const auto unit_def = lexeme[no_case[unit_word] >> word_end];
inline const auto duration_def = number_value > unit;
inline const auto percent_def = number_value >> lit('%');
inline const auto date_def = lexeme[x3::uint_parser<int, 10, 4, 4>{} >> '-' >> x3::uint_parser<int, 10, 2, 2>{} >> '-' >>
                                    x3::uint_parser<int, 10, 2, 2>{} >> word_end];
inline const auto clock_time_def =
  lexeme[x3::uint_parser<int, 10, 1, 2>{} >> ':' >> x3::uint_parser<int, 10, 2, 2>{} >> !x3::digit];
inline const auto reference_def = dotted_reference_identifier;

inline const auto operand_def = string_literal | boolean | number | reference;
inline const auto compare_tail_def = comparison_op > operand;
inline const auto between_tail_def = kw("between") > operand > kw("and") > operand;
inline const auto in_tail_def = ((kw("not") >> x3::attr(true)) | x3::attr(false)) >> kw("in") > lit('(') >
                                (operand % ',') > lit(')');
inline const auto condition_def = operand >> -(compare_tail | between_tail | in_tail);
// `exit when opened` followed by `active from ...` must not read `active` as a template.
inline const auto event_predicate_def = lexeme[no_case[event_word] >> word_end] >> -(ref_name >> !kw("from")) >>
                                        -(kw("within") > duration);
inline const auto negation_def = kw("not") > nested(primary);
// The plain condition comes first: it is the common case, it fails at once on `(`, `not`
// and event words (all reserved), and trying it first spares the heap-allocated
// forward_ast attributes of the other alternatives.
inline const auto primary_def = condition | event_predicate | negation | (lit('(') > nested(expr) > lit(')'));
inline const auto conjunction_def = primary % (kw("and") > condition_start);
inline const auto expr_def = conjunction % (kw("or") > condition_start);

// `send email welcome`: the channel word counts only when a template name follows.
// The lookahead takes no keyword: `send email` then `wait 3 days` sends the template `email`.
// Nor a split variant's label: `a: 50% send email` then `b: 50%` sends the template `email`.
inline const auto send_def = kw("send") > -(channel_name >> &(reference_identifier >> !lit(':'))) >
                             decl_name;
inline const auto variant_def = decl_name > lit(':') > percent > -send;
inline const auto metric_def = lexeme[no_case[metric_word] >> word_end];
inline const auto open_brace_def = &lit('{');
// `optimize`, `for`, `clicks`, `conversions` and `warmup` are not reserved: they mean
// something only here, and a split may still be named `optimize` (`split optimize { ... }`).
inline const auto optimize_clause_def = kw("optimize") > kw("for") > metric >
                                        ((kw("warmup") > number > open_brace) | open_brace |
                                         expected_parser("'warmup' or '{'"));
inline const auto split_def = kw("split") > -(!(kw("optimize") >> kw("for")) >> ref_name) > -optimize_clause >
                              (lit('{') | expected_parser("'optimize for' or '{'")) > *variant >
                              (lit('}') | expected_parser("a split variant (NAME: PERCENT [send TEMPLATE]) or '}'"));
inline const auto action_def = send | split;
inline const auto guarded_step_def = kw("if") > expr > kw("then") > action > -(kw("after") > duration);
// A trailing `if C` belongs to the step unless a `then` follows: then it is the next step.
inline const auto step_guard_def = lexeme[no_case[guard_word] >> word_end] >> expr >> !kw("then");
inline const auto action_step_def = action >> -(kw("after") > duration) >> -step_guard;
inline const auto wait_step_def = kw("wait") > duration;

inline const auto when_setting_def = kw("when") > expr;
inline const auto on_setting_def = kw("on") > ref_name > -(kw("where") > expr);
inline const auto once_setting_def = kw("once") >> x3::attr(std::string("once"));
inline const auto reenter_setting_def = kw("reenter") > kw("after") > duration;
inline const auto exit_setting_def = kw("exit") > kw("when") > expr;
inline const auto goal_setting_def = kw("goal") > event_predicate;
inline const auto priority_setting_def = kw("priority") > number;
inline const auto cap_setting_def = kw("cap") > number > kw("per") > duration;
inline const auto quiet_setting_def = kw("quiet") > kw("hours") > clock_time > lit('-') > clock_time;
inline const auto holdout_setting_def = kw("holdout") > percent;
inline const auto active_setting_def = kw("active") > kw("from") > date > -(kw("to") > date);

inline const auto item_def = when_setting | on_setting | once_setting | reenter_setting | exit_setting |
                             goal_setting | priority_setting | cap_setting | quiet_setting | holdout_setting |
                             active_setting | wait_step | guarded_step | action_step;
inline const auto scenario_def =
  kw("scenario") > decl_name > -string_literal > lit('{') > *item >
  (lit('}') | expected_parser("a setting (when, on, once, reenter, exit, goal, priority, cap, quiet hours, "
                              "holdout, active), a step (send, split, wait, if) or '}'"));
inline const auto segment_def = kw("segment") > decl_name > lit('=') > expr;
inline const auto rule_declaration_def = kw("rule") > decl_name > lit(':') > guarded_step;
inline const auto declaration_def = segment | rule_declaration | scenario;

BOOST_SPIRIT_DEFINE(condition_start, decl_name, ref_name, channel_name, number, string_literal, boolean, unit, duration,
                    percent, date, clock_time, reference, operand, compare_tail, between_tail, in_tail, condition,
                    event_predicate, primary, negation, conjunction, expr, send, variant, metric, open_brace,
                    optimize_clause, split, action, guarded_step, step_guard, action_step, wait_step, when_setting,
                    on_setting, once_setting, reenter_setting, exit_setting, goal_setting, priority_setting,
                    cap_setting, quiet_setting, holdout_setting, active_setting, item, scenario, segment,
                    rule_declaration, declaration)

} // namespace cvmd::dsl::parser
