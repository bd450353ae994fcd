#pragma once
// The data commands: import, segments, customer.

#include <CLI/CLI.hpp>

#include <string>

namespace cvmd {

struct GlobalOptions
{
  std::string config_path;
  std::string store_path; // --store, else the config's store:
};

void add_data_commands(CLI::App& app, const GlobalOptions& global, int& exit_code);

} // namespace cvmd
