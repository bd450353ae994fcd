#pragma once
// `cvmd run --once`: one real cycle of the orchestrator on the durable plan in the store.

#include "engine/command_data.hpp"

#include <CLI/CLI.hpp>

namespace cvmd {

void add_run_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

// One cycle up to `now`: load the scenarios, catch the plan up, save it in one transaction,
// send what is due (`outbox`: the dry-run folder, empty for outbox/ beside the store). The
// caller holds the store's RunLock. Prints a summary line; returns 0, 1 (the scenarios
// have errors and none passed before: nothing planned, earlier messages still sent), 2, or
// 3 (the files have errors; the last set that passed its check ran instead).
int run_cycle(Store& store, const Config& config, std::int64_t now, const std::string& outbox);

} // namespace cvmd
