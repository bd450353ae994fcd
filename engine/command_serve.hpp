#pragma once
// `cvmd serve`: the daemon. For now it answers /health and the links messages carry
// (open pixel, click, unsubscribe, delivery reports); the event API, scheduling and hot
// reload come with the rest of the daemon issue.

#include "engine/command_data.hpp"

#include <CLI/CLI.hpp>

namespace cvmd {

void add_serve_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

} // namespace cvmd
