#include "engine/command_check.hpp"

#include "dsl/dsl.hpp"
#include "engine/config.hpp"
#include "engine/summary.hpp"

#include <iostream>
#include <memory>

namespace cvmd {

int
run_check(const CheckOptions& options, const std::string& config_path)
{
  if (options.list_attributes) {
    std::cout << (options.format == "json" ? dsl::format_catalogue_json() + "\n" : dsl::format_catalogue_text());
    return 0;
  }
  const auto config = load_config(config_path);
  if (!config) {
    std::cerr << config.error() << "\n";
    return 2;
  }
  auto paths = options.paths;
  if (paths.empty()) {
    paths.push_back(config->scenarios);
  }
  std::string templates = options.templates;
  if (templates.empty() && config->templates_set) {
    templates = config->templates;
  }

  const auto result = dsl::load(paths, templates);
  if (result.usage_error) {
    std::cerr << "cvmd check: " << *result.usage_error << "\n";
    return 2;
  }
  const auto& diagnostics = result.diagnostics;
  const bool failed = diagnostics.has_errors() || (options.werror && diagnostics.warning_count() > 0);
  if (options.format == "json") {
    std::cout << dsl::format_json(diagnostics.all()) << "\n";
    return failed ? 1 : 0;
  }
  for (const auto& d : diagnostics.all()) {
    std::cout << dsl::format_text(d);
  }
  const auto errors = diagnostics.error_count();
  const auto warnings = diagnostics.warning_count();
  const auto scenarios = result.program ? result.program->scenarios.size() : 0;
  std::cout << result.files.size() << (result.files.size() == 1 ? " file" : " files") << " checked: " << errors
            << (errors == 1 ? " error, " : " errors, ") << warnings << (warnings == 1 ? " warning" : " warnings");
  if (result.program) {
    std::cout << ", " << scenarios << (scenarios == 1 ? " scenario" : " scenarios") << " ready";
  }
  std::cout << "\n";
  if (options.summary && result.program) {
    std::cout << "\n" << summarize(*result.program);
  }
  return failed ? 1 : 0;
}

void
add_check_command(CLI::App& app, const std::string& config_path, int& exit_code)
{
  auto options = std::make_shared<CheckOptions>();
  auto* check = app.add_subcommand("check", "Check scenario files and their templates; print diagnostics");
  check->add_option("paths", options->paths, "Scenario files or folders (searched for *.cvm); default: the config's scenarios folder");
  check->add_option("--templates", options->templates, "Templates folder (default: the config's, or templates/ beside the scenarios)");
  check->add_option("--format", options->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  check->add_flag("--list-attributes", options->list_attributes, "Print the built-in attributes, segments and message variables");
  check->add_flag("--summary", options->summary, "After a clean check, say in plain words what each scenario does");
  check->add_flag("--werror", options->werror, "Treat warnings as errors (exit 1)");
  check->callback([options, &config_path, &exit_code] { exit_code = run_check(*options, config_path); });
}

void
add_demo_command(CLI::App& app, const std::string& config_path, int& exit_code)
{
  auto scenarios = std::make_shared<std::string>("scenarios");
  auto* demo = app.add_subcommand("demo", "Check the standard scenario library and show what each scenario does");
  demo->add_option("--scenarios", *scenarios, "Folder of the standard scenarios")->capture_default_str();
  demo->callback([scenarios, &config_path, &exit_code] {
    std::cout << "cvmd demo: checking the standard scenarios in " << *scenarios << "/\n\n";
    CheckOptions options;
    options.paths = {*scenarios};
    options.summary = true;
    exit_code = run_check(options, config_path);
  });
}

} // namespace cvmd
