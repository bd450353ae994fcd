#pragma once
// Email over SMTP with libcurl: smtp:// (STARTTLS when offered, or required), smtps://,
// AUTH with the configured credentials, one connection kept open between messages.

#include "connectors/connector.hpp"
#include "connectors/connector_config.hpp"
#include "connectors/curl_easy.hpp"
#include "connectors/mime.hpp"

#include <functional>
#include <optional>

namespace cvmd {

class SmtpConnector : public Connector
{
public:
  using Now = std::function<std::int64_t()>;
  explicit SmtpConnector(ConnectorConfig config, Now now = {});
  ~SmtpConnector() override;
  Delivery deliver(const RenderedMessage& message) override;

  // The server's replies, as libcurl's debug callback hands them over.
  struct Replies
  {
    std::string last;
    std::string refusal; // the first 4xx or 5xx: after it libcurl says QUIT, whose "221" says nothing
    std::string command; // the verb of the last command sent (its arguments may hold secrets)
    std::string refused; // the command the refusal answered
  };

private:
  // Prepares the handle; a result at once when there is nothing to send (no address).
  std::optional<Delivery> begin(const RenderedMessage& message);
  Delivery end(CURLcode code);

  ConnectorConfig m_config;
  Mailbox m_from;
  std::string m_envelope_from;
  Now m_now;
  CurlEasy m_curl;
  // The transfer in flight.
  std::string m_key;
  std::string m_message;
  std::size_t m_sent = 0;
  curl_slist* m_recipients = nullptr;
  Replies m_replies;
  std::pair<const std::string*, std::size_t*> m_upload{nullptr, nullptr};
  char m_error[CURL_ERROR_SIZE] = {0};
};

} // namespace cvmd
