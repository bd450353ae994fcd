#pragma once
// `cvmd report ab|scenarios|segments|outcomes|html`: what the scenarios did and what it
// earned, for CRM managers (tables), analysts (CSV, JSON) and everyone (the HTML report).

#include "engine/command_data.hpp"

#include <CLI/CLI.hpp>

namespace cvmd {

void add_report_commands(CLI::App& app, const GlobalOptions& global, int& exit_code);

} // namespace cvmd
