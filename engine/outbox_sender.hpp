#pragma once
// From the outbox to the gateways: renders each due message for its customer, routes it
// to the connector named like its channel, hands it over through that connector's
// dispatcher (connections at once, rate, breaker) and records every outcome in the store
// as soon as it is known: sent with the gateway's id, retried later with backoff and
// jitter, refused for good, or dead-lettered after delivery.max_attempts.

#include "connectors/dispatcher.hpp"
#include "dsl/templates.hpp"
#include "engine/config.hpp"
#include "engine/customer_state.hpp"
#include "engine/links.hpp"
#include "engine/store.hpp"

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>

namespace cvmd {

struct SendSummary
{
  std::size_t sent = 0;
  std::size_t retry = 0;  // tried, will be tried again
  std::size_t held = 0;   // not tried: connector paused or missing, template broken
  std::size_t failed = 0; // refused for good
  std::size_t dead = 0;   // gave up after max attempts
};

// Templates with errors and the first error of each ("FILE:LINE:COL: message").
std::map<std::string, std::string> broken_templates(const dsl::Diagnostics& diagnostics);

class OutboxSender
{
public:
  // `dry_run_directory`: where the file connector writes when no connectors are configured.
  OutboxSender(const Config& config, std::string dry_run_directory);
  ~OutboxSender();

  // Templates that failed `check` (their messages wait until they are fixed).
  void set_broken_templates(std::map<std::string, std::string> reasons) { m_broken = std::move(reasons); }

  SendSummary send_due(Store& store, const CustomerState& state, const dsl::TemplateCatalog& templates,
                       std::int64_t now, std::ostream& log);

  // The connector a channel (or an explicit name) goes through; null with `why` when none.
  const ConnectorConfig* route(const std::string& channel, const std::string& name, std::string& why) const;
  Dispatcher& dispatcher(const ConnectorConfig& connector);
  const LinkSigner* signer() const { return m_signer ? &*m_signer : nullptr; }

  // When a message that failed `attempts` times (this one included) is tried again.
  std::int64_t next_attempt(int attempts, std::int64_t now);

private:
  const Config& m_config;
  std::vector<ConnectorConfig> m_implicit; // the dry-run file connector
  std::optional<LinkSigner> m_signer;
  std::map<std::string, std::unique_ptr<Dispatcher>> m_dispatchers;
  std::map<std::string, std::string> m_broken;
  std::mt19937_64 m_random;
};

} // namespace cvmd
