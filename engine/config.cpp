#include "engine/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

namespace cvmd {

namespace fs = std::filesystem;

namespace {

// Keys of later subsystems are accepted here and validated by them when they load.
const char* const known_keys[] = {"store", "scenarios", "templates", "timezone", "lifecycle", "vip",
                                  "value_tiers", "clv", "policies", "connectors", "server", "logging"};

std::string
where(const std::string& file, const YAML::Mark& mark)
{
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

} // namespace

Result<Config>
load_config(const std::string& path)
{
  Config config;
  const bool explicit_path = !path.empty();
  const std::string file = explicit_path ? path : "cvmd.yaml";
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    return Result<Config>::failure(file + ": is a folder, not a configuration file");
  }
  if (!fs::exists(file, ec)) {
    if (explicit_path) {
      return Result<Config>::failure(file + ": configuration file not found");
    }
    return config;
  }
  config.file = file;
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    return Result<Config>::failure(file + ": cannot read the configuration file");
  } catch (const YAML::Exception& e) {
    return Result<Config>::failure(where(file, e.mark) + ": error: not valid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return Result<Config>::failure(file + ": cannot read the configuration file: " + e.what());
  }
  if (root.IsNull()) {
    return config;
  }
  if (!root.IsMap()) {
    return Result<Config>::failure(where(file, root.Mark()) + ": error: the configuration must be a mapping of keys");
  }
  const auto base = fs::path(file).parent_path();
  auto relative = [&](const std::string& value) {
    return fs::path(value).is_absolute() || base.empty() ? value : (base / value).string();
  };
  for (const auto& entry : root) {
    const auto key = entry.first.Scalar();
    if (std::find(std::begin(known_keys), std::end(known_keys), key) == std::end(known_keys)) {
      return Result<Config>::failure(where(file, entry.first.Mark()) + ": error: unknown key '" + key + "'");
    }
    const bool text_key = key == "store" || key == "scenarios" || key == "templates" || key == "timezone";
    if (text_key && !entry.second.IsScalar()) {
      return Result<Config>::failure(where(file, entry.second.Mark()) + ": error: '" + key + "' must be text");
    }
    if (key == "store") {
      config.store = relative(entry.second.Scalar());
    } else if (key == "scenarios") {
      config.scenarios = relative(entry.second.Scalar());
    } else if (key == "templates") {
      config.templates = relative(entry.second.Scalar());
      config.templates_set = true;
    } else if (key == "timezone") {
      config.timezone = entry.second.Scalar();
    }
  }
  return config;
}

} // namespace cvmd
