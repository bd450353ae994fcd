#pragma once
// SMS through Kannel's smsbox `sendsms` HTTP interface: UTF-8 text, coding chosen from the
// text (GSM-7 or UCS-2), delivery reports requested with dlr-mask to the message's
// status_url (a signed link back to the daemon).

#include "connectors/connector.hpp"
#include "connectors/connector_config.hpp"
#include "connectors/curl_easy.hpp"

namespace cvmd {

class KannelConnector : public Connector
{
public:
  explicit KannelConnector(ConnectorConfig config) : m_config(std::move(config)) {}
  Delivery deliver(const RenderedMessage& message) override;

  // The sendsms URL for a message (tests read it; it holds the password, never log it).
  std::string request_url(const RenderedMessage& message) const;

private:
  ConnectorConfig m_config;
  CurlEasy m_curl;
};

// A phone number as gateways take it: digits with an optional leading +, 6 to 16 digits.
bool valid_phone(std::string_view number);

} // namespace cvmd
