#pragma once
// `cvmd simulate`: the orchestrator on a virtual clock over the store's customers.

#include "engine/command_data.hpp"

#include <CLI/CLI.hpp>

namespace cvmd {

void add_simulate_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

} // namespace cvmd
