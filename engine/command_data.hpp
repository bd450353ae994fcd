#pragma once
// The data commands: import, segments, customer.

#include "engine/config.hpp"
#include "engine/run_lock.hpp"
#include "engine/store.hpp"

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

namespace cvmd {

struct GlobalOptions
{
  std::string config_path;
  std::string store_path; // --store, else the config's store:
};

struct Opened
{
  Config config;
  std::unique_ptr<Store> store;
};

// The configuration and the store; nothing (said on stderr) when either is wrong.
// must_exist: refuse to create a new store file (read-only commands).
std::optional<Opened> open_store(const GlobalOptions& global, bool must_exist = false);

// The store with its run lock, for the commands that run cycles (`run`, `serve`); nothing
// (said on stderr, prefixed by `command`) when another one holds it.
struct ExclusiveStore
{
  Opened opened;
  RunLock lock;
};
std::optional<ExclusiveStore> open_store_exclusive(const GlobalOptions& global, const std::string& command);

// `--at DATE` (default: now) as the end of that day, so that its orders count; nothing
// when it is not a date or time (said on stderr, naming `option`).
std::optional<std::int64_t> parse_at(const std::string& at, const char* option = "--at");

void add_data_commands(CLI::App& app, const GlobalOptions& global, int& exit_code);

} // namespace cvmd
