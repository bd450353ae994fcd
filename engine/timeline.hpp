#pragma once
// Decisions of the orchestrator, one per line: what happened to whom, when and why. The
// simulation prints them; the daemon logs them in the store.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace cvmd {

enum class Action { enter, send, skip, suppress, defer, exit, convert };

const char* to_string(Action action);

struct Decision
{
  std::int64_t at = 0;
  std::string customer;
  std::string scenario;
  std::string version;
  int step = 0; // 1-based; 0 for decisions about the whole enrollment
  Action action = Action::enter;
  std::string channel;
  std::string template_name;
  std::string variant; // split variant, "holdout", or empty
  std::string reason;
  std::string key;             // idempotency key of a send: scenario:version:customer:enrollment:step
  std::int64_t revenue_cents = 0; // conversions
  std::uint64_t enrollment = 0;
  // An assignment this decision makes, once and for all: the experiment (a split's name, or
  // "holdout" at entry: holdout or messaged), the variant, and the chance it had.
  struct Assignment
  {
    std::string experiment;
    std::string variant;
    double probability = 0;
  };
  std::optional<Assignment> assignment;
};

using DecisionSink = std::function<void(const Decision&)>;

// One JSON object per line, keys in a fixed order: the same decisions give the same bytes.
std::string to_json_line(const Decision& d);
// Aligned columns for the terminal.
std::string table_header();
std::string to_table_line(const Decision& d);

} // namespace cvmd
