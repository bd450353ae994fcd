#pragma once
// HTTP ways out. `http`: a request shaped in config (JSON or form fields, each a Mustache
// template over the message), for SMS and email APIs of the Twilio kind. `webhook`: the
// rendered body as it is, signed with HMAC-SHA256 so the receiver can trust it.

#include "connectors/connector.hpp"
#include "connectors/connector_config.hpp"
#include "connectors/curl_easy.hpp"

namespace cvmd {

class HttpConnector : public Connector
{
public:
  explicit HttpConnector(ConnectorConfig config) : m_config(std::move(config)) {}
  Delivery deliver(const RenderedMessage& message) override;

private:
  ConnectorConfig m_config;
  CurlEasy m_curl;
};

// Hex HMAC-SHA256, as sent in X-Cvmd-Signature ("sha256=" + this).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

} // namespace cvmd
