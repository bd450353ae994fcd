#pragma once
// `cvmd send` (one message now: the test send before a launch) and `cvmd outbox` (list,
// retry and discard what is waiting, failed or dead-lettered).

#include "engine/command_data.hpp"

#include <CLI/CLI.hpp>

namespace cvmd {

void add_outbox_commands(CLI::App& app, const GlobalOptions& global, int& exit_code);

} // namespace cvmd
