#pragma once
// What the commands that run scenarios share: loading the configured scenario set, whole or
// not at all.

#include "dsl/dsl.hpp"
#include "engine/config.hpp"
#include "engine/orchestrator.hpp"
#include "engine/plan.hpp"
#include "engine/timeline.hpp"

#include <optional>
#include <string>

namespace cvmd {

// The scenarios of `folder` (the config's when empty) and their templates. On errors the
// diagnostics go to stderr with what was not done, and exit_code says 1 (the scenarios are
// wrong) or 2 (the folder cannot be read).
std::optional<dsl::LoadResult> load_scenarios(const Config& config, const std::string& folder,
                                              const std::string& command, const std::string& not_done, int& exit_code);

// The outbox message a send decision plans (pending, due at the decision's time).
OutboxMessage planned_message(const Decision& d);

// Every scenario file of the program, as one JSON array (what the store keeps of a
// version); nothing when a file cannot be read.
std::optional<std::string> sources_json(const std::vector<std::string>& files);

// A stored event as the orchestrator takes it: its name and the message it is about from
// its properties. `late`: stored after the cycle that covered its time.
CustomerEvent event_of(const EventRow& row, bool late);

// The name an event carries in its properties (JSON): the template of opened/clicked, the
// channel of unsubscribed; empty when none.
std::string property_name(const std::string& properties);

// Whether any condition reads clv, p_alive or expected_orders: then the snapshot fits the
// CLV models (seconds at a million customers), else it need not.
bool uses_predictions(const dsl::Program& program);

} // namespace cvmd
