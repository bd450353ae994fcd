#pragma once
// `cvmd run --once`: one real cycle of the orchestrator on the durable plan in the store.

#include "engine/command_data.hpp"

#include <CLI/CLI.hpp>

namespace cvmd {

void add_run_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

} // namespace cvmd
