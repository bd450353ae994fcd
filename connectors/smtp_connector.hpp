#pragma once
// Email over SMTP: smtp:// (STARTTLS when offered, or required), smtps://, AUTH with the
// configured credentials, one connection kept open between messages. libcurl opens and
// secures the connection and logs in; the transaction goes through smtp_wire.hpp, pipelined
// when the server allows it.

#include "connectors/connector.hpp"
#include "connectors/connector_config.hpp"
#include "connectors/curl_easy.hpp"
#include "connectors/mime.hpp"
#include "connectors/smtp_wire.hpp"

#include <functional>
#include <memory>
#include <optional>

namespace cvmd {

class SmtpConnector : public Connector
{
public:
  using Now = std::function<std::int64_t()>;
  explicit SmtpConnector(ConnectorConfig config, Now now = {});
  ~SmtpConnector() override;
  Delivery deliver(const RenderedMessage& message) override;

  // What libcurl's debug callback shows while it opens the connection.
  struct Replies
  {
    std::string refusal; // the first 4xx or 5xx: after it libcurl says QUIT, whose "221" says nothing
    std::string command; // the verb of the last command sent (never its arguments: AUTH's hold secrets)
    bool pipelining = false; // the last EHLO's answer offered PIPELINING
    bool smtputf8 = false;   // ... and SMTPUTF8 (RFC 6531)
    bool size = false;       // ... and SIZE (RFC 1870): a message too big is refused at MAIL
  };

private:
  // What one transaction came to, and whether the server saw none of it (a kept connection
  // it had closed meanwhile: the message may go again on a new one without any risk).
  struct Outcome
  {
    Delivery delivery;
    bool untouched = false;
  };

  // A connection ready for MAIL, or why there is none.
  std::optional<Delivery> connect(SmtpWire::Deadline deadline);
  Delivery connect_failure(CURLcode code);
  // QUIT first when the connection is still fine.
  void disconnect(bool quit);
  Outcome transaction(const std::string& recipient, bool smtputf8, const std::string& data, const std::string& key,
                      SmtpWire::Deadline deadline);
  Outcome broken(const SmtpReply& reply, bool before_any_reply);
  // After a refusal: true when the connection is ready for the next message.
  bool forget_transaction(bool data_open, SmtpWire::Deadline deadline);
  Delivery accepted(const SmtpReply& reply, const std::string& key) const;

  ConnectorConfig m_config;
  Mailbox m_from;
  std::string m_envelope_from;
  Now m_now;
  Replies m_replies;
  char m_error[CURL_ERROR_SIZE] = {0};
  // Last, so that they go first: libcurl points at the two above until then.
  std::unique_ptr<CurlEasy> m_curl;
  std::optional<SmtpWire> m_wire; // set while connected
};

} // namespace cvmd
