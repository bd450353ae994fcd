#pragma once
// Email over SMTP with libcurl: smtp:// (STARTTLS when offered, or required), smtps://,
// AUTH with the configured credentials, one connection kept open between messages.

#include "connectors/connector.hpp"
#include "connectors/connector_config.hpp"
#include "connectors/curl_easy.hpp"
#include "connectors/mime.hpp"

#include <functional>

namespace cvmd {

class SmtpConnector : public Connector
{
public:
  using Now = std::function<std::int64_t()>;
  explicit SmtpConnector(ConnectorConfig config, Now now = {});
  Delivery deliver(const RenderedMessage& message) override;

private:
  ConnectorConfig m_config;
  Mailbox m_from;
  Now m_now;
  CurlEasy m_curl;
};

} // namespace cvmd
