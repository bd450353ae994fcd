// The actions of steps: `send` and `split`, with a split's `optimize for` clause.
#include "checker_context.hpp"
#include "keywords.hpp"
#include "suggest.hpp"

#include <cmath>
#include <cstdio>

namespace cvmd::dsl {

namespace {

constexpr double max_warmup = 1'000'000;

// The channel a send goes out on: as written, else the template's; empty when unknown.
std::string
send_channel(const CheckerContext& context, const ast::Send& s)
{
  if (s.channel) {
    return to_lower(s.channel->text);
  }
  const auto* tmpl = context.symbols.templates->find(to_lower(s.template_name.text));
  return tmpl ? tmpl->channel : std::string();
}

void
check_optimize(CheckerContext& context, const ast::Split& s, const SplitPlace& place, bool variants_ok)
{
  const auto& optimize = *s.optimize;
  if (optimize.metric == "conversions" && !place.has_goal) {
    context.error(optimize, place.in_rule
                              ? "optimize for conversions needs a goal, and a rule has none: write a scenario "
                                "with a goal, e.g. `goal ordered within 7 days`"
                              : "optimize for conversions needs the scenario's goal to count conversions: add "
                                "e.g. `goal ordered within 7 days`");
  }
  // Judged only when every variant's template is known: an unknown one has its own error.
  if (optimize.metric == "clicks" && variants_ok) {
    bool email = false;
    for (const auto& v : s.variants) {
      email = email || (v.send && send_channel(context, *v.send) == "email");
    }
    if (!email) {
      context.error(optimize, "optimize for clicks needs a variant that sends an email: clicks are measured only "
                              "on the links of emails (optimize for conversions instead, with a goal)");
    }
  }
  if (const auto& warmup = optimize.warmup) {
    const double n = warmup->value;
    if (std::floor(n) != n || n < 1 || n > max_warmup) {
      context.error(*warmup, "a warm-up counts recipients per variant: a whole number from 1 to 1000000");
    }
  }
}

} // namespace

bool
check_send(CheckerContext& context, const ast::Send& s)
{
  const auto& templates = *context.symbols.templates;
  const auto lower = to_lower(s.template_name.text);
  if (is_reserved_word(lower)) {
    context.error(s.template_name, "'" + s.template_name.text + "' is a keyword, not a template name");
    return false;
  }
  const auto* tmpl = templates.find(lower);
  if (!tmpl) {
    std::string hint = templates.loaded() ? did_you_mean(lower, templates.names())
                                          : " (no templates folder found: pass --templates DIR)";
    context.error(s.template_name, "unknown template '" + s.template_name.text + "'" + hint);
    return false;
  }
  if (s.channel && !tmpl->channel.empty() && to_lower(s.channel->text) != tmpl->channel) {
    const auto article = tmpl->channel == "email" ? "an " : "a ";
    context.error(*s.channel, "this step sends " + to_lower(s.channel->text) + ", but '" + tmpl->name + "' is " +
                                article + tmpl->channel + " template (" + tmpl->path + ")");
    return false;
  }
  return true;
}

void
check_split(CheckerContext& context, const ast::Split& s, std::set<std::string>& split_names, const SplitPlace& place)
{
  const auto name = s.name ? to_lower(s.name->text) : std::string("split");
  if (!split_names.insert(name).second) {
    context.error(s, s.name ? "split '" + s.name->text + "' appears twice in this scenario"
                            : std::string("several unnamed splits: name them, e.g. split subject_test { ... }"));
  }
  if (s.variants.size() < 2) {
    context.error(s, "a split needs at least two variants (one may be a control without send)");
  }
  std::set<std::string> names;
  double total = 0;
  bool sends_ok = true;
  for (const auto& v : s.variants) {
    if (is_reserved_word(v.name.text)) {
      context.error(v.name, "'" + v.name.text + "' is a keyword and cannot name a variant");
    } else if (!names.insert(to_lower(v.name.text)).second) {
      context.error(v.name, "variant '" + v.name.text + "' appears twice in this split");
    }
    if (v.weight.value < 0 || v.weight.value > 100) {
      context.error(v.weight, "a variant's weight must be between 0% and 100%");
    }
    total += v.weight.value;
    if (v.send) {
      sends_ok = check_send(context, *v.send) && sends_ok;
    }
  }
  if (!s.variants.empty() && std::abs(total - 100.0) > 1e-9) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", total);
    context.error(s, std::string("split weights add up to ") + buffer + "%; they must add up to 100%");
  }
  if (s.optimize) {
    check_optimize(context, s, place, sends_ok);
  }
}

} // namespace cvmd::dsl
