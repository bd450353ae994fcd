#pragma once
// `cvmd run --once`: one real cycle of the orchestrator on the durable plan in the store.

#include "engine/command_data.hpp"

#include <CLI/CLI.hpp>

namespace cvmd {

class OutboxSender;

void add_run_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

// One cycle up to `now`: load the scenarios, catch the plan up, save it in one transaction,
// send what is due (`outbox`: the dry-run folder, empty for outbox/ beside the store). The
// caller holds the store's RunLock. Prints a summary line; returns 0, 1 (the scenarios
// have errors and none passed before: nothing planned, earlier messages still sent), 2, or
// 3 (the files have errors; the last set that passed its check ran instead). `sender`: one
// kept between cycles (the daemon's: its connections stay open and its breakers remember a
// failing gateway); without, the cycle makes its own.
int run_cycle(Store& store, const Config& config, std::int64_t now, const std::string& outbox,
              OutboxSender* sender = nullptr);
// Where the dry-run file connector writes: `outbox_option`, else outbox/ beside the store.
std::string outbox_directory(const Store& store, const std::string& outbox_option);

} // namespace cvmd
