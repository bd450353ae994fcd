#pragma once
// cvmd.yaml: every key optional, defaults documented in docs/configuration.md. A wrong key
// or value is an error with its place in the file, never a silent default.

#include "engine/customer_state.hpp"
#include "engine/delivery_config.hpp"
#include "engine/policies.hpp"
#include "engine/result.hpp"

#include <string>
#include <vector>

namespace cvmd {

// What a channel cost in a month (`acquisition_spend:`), for CAC and LTV/CAC.
struct AcquisitionSpend
{
  std::string channel;
  std::string month; // YYYY-MM
  double amount = 0;
};

struct Config
{
  std::string file;       // the file read, empty when defaults are used
  std::string store = "cvmd.db";
  std::string scenarios = "scenarios";
  std::string templates = "templates";
  bool templates_set = false; // given in the file (else: beside the scenarios)
  std::string timezone = "UTC";
  MetricsConfig metrics; // lifecycle:, vip:, clv:
  std::vector<AcquisitionSpend> acquisition_spend;
  PolicyConfig policies; // policies: {frequency_cap: {max, per}, quiet_hours}
  std::int64_t rankings_refresh_seconds = 86400; // rankings: {refresh_every: 1 day | never}
  std::vector<ConnectorConfig> connectors; // none: every channel goes to the file connector
  ServerConfig server;
  DeliveryConfig delivery;
  bool json_logs = false; // logging: {format: json}

  const ConnectorConfig* find_connector(const std::string& name) const;
};

// `path` is --config's value or empty for ./cvmd.yaml; a missing default file is fine, a
// missing explicit one is an error. Relative paths inside are relative to the file.
Result<Config> load_config(const std::string& path);

} // namespace cvmd
