#pragma once
// The ways out as cvmd.yaml configures them: `connectors:`, `server:` (the public base of
// links and their HMAC key) and `delivery:` (retries, backoff, the breaker).

#include "connectors/connector_config.hpp"
#include "connectors/dispatcher.hpp"
#include "engine/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace cvmd {

struct ServerConfig
{
  std::string listen = "127.0.0.1:8080";
  std::string public_url;  // base of tracking, unsubscribe and delivery-report links
  std::string link_secret; // HMAC key of those links; from the environment, never printed
  std::vector<std::string> api_tokens;       // write: the event API (and the dashboard)
  std::vector<std::string> dashboard_tokens; // read only: the dashboard
  std::int64_t cycle_every_seconds = 60; // the daemon's cycles; events bring the next one forward
  std::size_t max_connections = 1000;
  // durability: process (default) | power. What a 2xx survives: the daemon's crash (commits
  // reach the file system, which syncs them at the next checkpoint), or also a power loss
  // or an OS crash (each commit synced to disk before it is answered: a sync per group).
  bool sync_commits = false;
};

struct DeliveryConfig
{
  int max_attempts = 8;              // then the message is dead-lettered
  std::int64_t backoff_seconds = 60; // before the second attempt; doubled each time
  std::int64_t longest_backoff_seconds = 6 * 3600;
  BreakerSettings breaker;
};

// Each returns an error "FILE:LINE:COL: error: ..." or an empty string.
// `base`: the folder of the configuration file, for relative directories.
std::string read_connectors(const std::string& file, const YAML::Node& node, std::vector<ConnectorConfig>& out,
                            const std::string& base);
std::string read_server(const std::string& file, const YAML::Node& node, ServerConfig& out);
std::string read_delivery(const std::string& file, const YAML::Node& node, DeliveryConfig& out);

// "${NAME}" references replaced by the environment's values; an error names the variable.
Result<std::string> expand_environment(const std::string& text);

} // namespace cvmd
