// cvmd: the command line. Each subcommand lives in its own command_*.cpp.
#include "engine/command_check.hpp"
#include "engine/command_data.hpp"
#include "engine/command_outbox.hpp"
#include "engine/command_report.hpp"
#include "engine/command_run.hpp"
#include "engine/command_serve.hpp"
#include "engine/command_simulate.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

int
main(int argc, char** argv)
{
  CLI::App app{"cvmd - customer value management: segments, scenarios, measured messages"};
  app.set_version_flag("--version", std::string("cvmd 0.1.0"));
  app.require_subcommand(1);
  cvmd::GlobalOptions global;
  app.add_option("--config", global.config_path, "Configuration file (default: ./cvmd.yaml when it exists)");
  app.add_option("--store", global.store_path, "SQLite store (default: the config's store:, else ./cvmd.db)");
  int exit_code = 0;
  cvmd::add_check_command(app, global.config_path, exit_code);
  cvmd::add_demo_command(app, global.config_path, exit_code);
  cvmd::add_data_commands(app, global, exit_code);
  cvmd::add_simulate_command(app, global, exit_code);
  cvmd::add_run_command(app, global, exit_code);
  cvmd::add_outbox_commands(app, global, exit_code);
  cvmd::add_serve_command(app, global, exit_code);
  cvmd::add_report_commands(app, global, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cvmd: " << e.what() << "\n";
    return 2;
  }
  return exit_code;
}
