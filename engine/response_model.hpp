#pragma once
// A synthetic response model for `cvmd simulate --respond FILE`: who opens, clicks and
// orders after a message, and who orders anyway. Seeded and drawn per message key, so
// the same simulation gives the same responses on every machine; documented in
// docs/reports.md. It makes a simulated campaign measurable end to end (outcomes, A/B
// report, dashboard); it is not a forecast.

#include "engine/orchestrator.hpp"
#include "engine/result.hpp"
#include "engine/timeline.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cvmd {

struct ResponseRates
{
  double open = 0;  // of messages sent (email only: SMS and webhooks have no pixel)
  double click = 0; // of opened emails; of sent SMS
  double order = 0; // of clicks: ordered within a few days
};

struct ResponseModel
{
  std::uint64_t seed = 1;
  std::map<std::string, ResponseRates> channels = {
    {"email", {0.22, 0.15, 0.25}}, {"sms", {0, 0.08, 0.20}}, {"webhook", {0, 0, 0}}};
  std::map<std::string, ResponseRates> templates; // overrides per template
  double baseline_order = 0.02;                   // of enrollments, messaged or not
  std::int64_t baseline_within_seconds = 14 * 86400;
};

// YAML; a wrong key or value is `FILE:LINE: what`.
Result<ResponseModel> load_response_model(const std::string& path);

// A response and what the store keeps of it (the message's key, for the outcome log).
struct Response
{
  CustomerEvent event;
  std::string message_key;
  std::string template_name;
};

// What follows a decision: for a send, maybe an open, a click and an order; for an entry,
// maybe an order of the customer's own accord. `aov_cents`: what the customer usually
// spends per order (the amount of a simulated order).
std::vector<Response> respond(const ResponseModel& model, const Decision& decision, std::int64_t aov_cents);

} // namespace cvmd
