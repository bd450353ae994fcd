#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace cvmd {

struct CheckOptions
{
  std::vector<std::string> paths;
  std::string templates;
  std::string format = "text";
  bool list_attributes = false;
  bool summary = false;
  bool werror = false;
};

void add_check_command(CLI::App& app, const std::string& config_path, int& exit_code);
void add_demo_command(CLI::App& app, const std::string& config_path, int& exit_code);

// Exit code: 0 no errors, 1 errors, 2 usage problems.
int run_check(const CheckOptions& options, const std::string& config_path);

} // namespace cvmd
