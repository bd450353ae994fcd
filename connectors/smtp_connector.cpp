#include "connectors/smtp_connector.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>

namespace cvmd {

namespace {

// While libcurl opens the connection, the server's replies reach us only through the debug
// callback: why a greeting, EHLO, STARTTLS or AUTH failed, and what EHLO offers.
int
on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user)
{
  auto& replies = *static_cast<SmtpConnector::Replies*>(user);
  if (type == CURLINFO_HEADER_OUT) {
    static const std::string_view verbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "QUIT"};
    const std::string_view line(data, size);
    const auto verb = line.substr(0, line.find_first_of(" \r\n"));
    // Anything else is an AUTH continuation: base64 of the credentials.
    replies.command = std::find(std::begin(verbs), std::end(verbs), verb) != std::end(verbs) ? verb : "AUTH";
    if (replies.command == "EHLO") {
      replies.pipelining = replies.smtputf8 = replies.size = false; // again after STARTTLS: only the last answer counts
    }
  }
  if (type == CURLINFO_HEADER_IN) {
    std::string line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.pop_back();
    }
    if (replies.refusal.empty() && !line.empty() && (line.front() == '4' || line.front() == '5')) {
      replies.refusal = line;
    }
    if (replies.command == "EHLO" && line.size() > 4 && line.compare(0, 3, "250") == 0) {
      auto keyword = line.substr(4);
      keyword = keyword.substr(0, keyword.find(' '));
      std::transform(keyword.begin(), keyword.end(), keyword.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      replies.pipelining = replies.pipelining || keyword == "PIPELINING";
      replies.smtputf8 = replies.smtputf8 || keyword == "SMTPUTF8";
      replies.size = replies.size || keyword == "SIZE";
    }
  }
  return 0;
}

// "250 2.0.0 Ok: queued as 4F3A2": the word after "queued as", wherever in the reply.
std::string
queued_id(const std::string& reply)
{
  const auto at = reply.find("queued as ");
  if (at == std::string::npos) {
    return {};
  }
  const auto start = at + 10;
  return reply.substr(start, reply.find_first_of(" \t\r\n", start) - start);
}

std::int64_t
wall_now()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

SmtpConnector::SmtpConnector(ConnectorConfig config, Now now)
  : m_config(std::move(config)), m_from(parse_mailbox(m_config.from)), m_envelope_from("<" + m_from.address + ">"),
    m_now(now ? std::move(now) : Now(wall_now))
{
}

SmtpConnector::~SmtpConnector()
{
  disconnect(true);
}

std::optional<Delivery>
SmtpConnector::connect(SmtpWire::Deadline deadline)
{
  // A new handle each time: the only way to be sure libcurl lets the old connection go.
  m_curl = std::make_unique<CurlEasy>();
  CURL* curl = m_curl->get();
  // What is left of the message's time, connect included.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  m_curl->set_common(std::max(1L, static_cast<long>(left.count())), m_config.ca_file);
  curl_easy_setopt(curl, CURLOPT_URL, m_config.url.c_str());
  if (!m_config.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, m_config.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, m_config.password.c_str());
  }
  // With credentials, "auto" insists on TLS: someone between us and the server could strip
  // STARTTLS from the greeting and read the password.
  const bool insist = m_config.tls == "starttls" || (m_config.tls == "auto" && !m_config.username.empty());
  curl_easy_setopt(curl, CURLOPT_USE_SSL,
                   insist                   ? CURLUSESSL_ALL
                   : m_config.tls == "none" ? CURLUSESSL_NONE
                                            : CURLUSESSL_TRY);
  curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &m_replies);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, m_error);
  m_replies = {};
  m_error[0] = '\0';
  const auto code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    auto failure = connect_failure(code);
    disconnect(false);
    return failure;
  }
  m_wire.emplace(curl);
  return std::nullopt;
}

void
SmtpConnector::disconnect(bool quit)
{
  if (quit && m_wire) {
    // Polite, not waited for: the reply would say nothing we need.
    (void)m_wire->send("QUIT\r\n", std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
  }
  m_wire.reset();
  m_curl.reset();
}

Delivery
SmtpConnector::deliver(const RenderedMessage& m)
{
  if (m.to.empty()) {
    return Delivery::refused("the customer has no email address");
  }
  const auto recipient = valid_address(m.to) ? smtp_address(m.to) : std::nullopt;
  if (!recipient) {
    return Delivery::refused("'" + m.to + "' is not an email address");
  }
  if (m_from.address.empty()) {
    return Delivery::refused("connectors." + m_config.name + ".from is not an address");
  }
  // A local part beyond ASCII can only go to a server that takes SMTPUTF8.
  const bool smtputf8 = std::any_of(recipient->begin(), recipient->begin() + static_cast<long>(recipient->rfind('@')),
                                    [](unsigned char c) { return c >= 0x80; });
  // An international domain: the To header carries the A-labels too, as it must without
  // SMTPUTF8.
  std::optional<RenderedMessage> with_ascii_domain;
  if (*recipient != m.to && !smtputf8) {
    with_ascii_domain = m;
    with_ascii_domain->to = *recipient;
  }
  const auto data = smtp_data(build_email(with_ascii_domain ? *with_ascii_domain : m, m_from, m_now()));
  // One deadline for the whole message, connecting (again) included.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(m_config.timeout_ms);
  for (int attempt = 0;; ++attempt) {
    if (m_wire && !m_wire->quiet()) {
      disconnect(false); // closed meanwhile, or talking out of turn: a new one costs nothing
    }
    const bool kept = m_wire.has_value();
    if (!kept) {
      if (auto failure = connect(deadline)) {
        return *failure;
      }
    }
    if (smtputf8 && !m_replies.smtputf8) {
      return Delivery::failed("'" + m.to + "' has a local part beyond ASCII and the server does not offer SMTPUTF8");
    }
    auto outcome = transaction(*recipient, smtputf8, data, m.key, deadline);
    if (!(outcome.untouched && kept && attempt == 0)) {
      return std::move(outcome.delivery);
    }
    // The kept connection had been closed by the server (idle too long): once more, anew.
  }
}

SmtpConnector::Outcome
SmtpConnector::broken(const SmtpReply& reply, bool before_any_reply)
{
  disconnect(false);
  // Untouched only when the server certainly took nothing: closed before any reply. A
  // timeout is not: the server may be slow, and the deadline is spent anyway.
  return {Delivery::retry(reply.text), before_any_reply && reply.closed};
}

Delivery
SmtpConnector::accepted(const SmtpReply& reply, const std::string& key) const
{
  auto id = queued_id(reply.text);
  return Delivery::delivered(
    id.empty() ? message_id_for(key, m_from.address.substr(m_from.address.find('@') + 1)) : id, reply.text);
}

SmtpConnector::Outcome
SmtpConnector::transaction(const std::string& recipient, bool smtputf8, const std::string& data,
                           const std::string& key, SmtpWire::Deadline deadline)
{
  auto& wire = *m_wire;
  const auto parameters = (m_replies.size ? " SIZE=" + std::to_string(data.size()) : std::string()) +
                          (smtputf8 ? " SMTPUTF8" : "");
  const std::string commands[] = {"MAIL FROM:" + m_envelope_from + parameters + "\r\n",
                                  "RCPT TO:<" + recipient + ">\r\n", "DATA\r\n"};
  static const char* const verbs[] = {"MAIL", "RCPT", "DATA"};
  SmtpReply replies[3];
  int answered = 0; // replies read
  int refused = -1; // the first command refused
  const auto verdict = [&](const SmtpReply& reply, int command) {
    const auto said = "the server said: " + reply.text;
    // A refusal of the recipient or of this message's content is final; MAIL refused
    // refuses the sender (reputation, configuration) and would refuse every message alike:
    // that waits for an operator.
    const bool final = reply.code / 100 == 5 && std::string_view(verbs[command]) != "MAIL";
    return final ? Delivery::failed(said) : Delivery::retry(said);
  };
  if (m_replies.pipelining) {
    if (auto error = wire.send(commands[0] + commands[1] + commands[2], deadline)) {
      return broken(*error, true);
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (!m_replies.pipelining) {
      if (auto error = wire.send(commands[i], deadline)) {
        return broken(*error, i == 0);
      }
    }
    replies[i] = wire.read_reply(deadline);
    if (replies[i].code == 0) {
      if (refused >= 0) {
        // The refusal already read says what became of the message.
        disconnect(false);
        return {verdict(replies[refused], refused), false};
      }
      return broken(replies[i], i == 0);
    }
    if (i == 0 && replies[0].code == 421) {
      // Said by a server closing a connection it found idle too long: nothing was taken.
      return broken({0, "the server said: " + replies[0].text, true}, true);
    }
    answered = i + 1;
    const bool fine = i < 2 ? replies[i].code / 100 == 2 : replies[i].code == 354;
    if (!fine && refused < 0) {
      refused = i;
      if (!m_replies.pipelining) {
        break; // in lock step the rest is never sent
      }
    }
  }
  if (refused >= 0) {
    auto delivery = verdict(replies[refused], refused);
    const bool data_open = answered == 3 && replies[2].code == 354;
    if (replies[refused].code == 421 || !forget_transaction(data_open, deadline)) {
      disconnect(false);
    }
    return {std::move(delivery), false};
  }
  if (auto error = wire.send(data, deadline)) {
    return broken(*error, false);
  }
  const auto reply = wire.read_reply(deadline);
  if (reply.code == 0) {
    return broken(reply, false);
  }
  if (reply.code / 100 == 2) {
    return {accepted(reply, key), false};
  }
  if (reply.code == 421) {
    disconnect(false);
  }
  const auto said = "the server said: " + reply.text;
  return {reply.code / 100 == 5 ? Delivery::failed(said) : Delivery::retry(said), false};
}

bool
SmtpConnector::forget_transaction(bool data_open, SmtpWire::Deadline deadline)
{
  // A DATA let through despite a refused recipient gets an empty message (RFC 2920 3.1),
  // then RSET leaves the connection ready for the next one.
  auto& wire = *m_wire;
  if (data_open && (wire.send(".\r\n", deadline) || wire.read_reply(deadline).code == 0)) {
    return false;
  }
  return !wire.send("RSET\r\n", deadline) && wire.read_reply(deadline).code == 250;
}

Delivery
SmtpConnector::connect_failure(CURLcode code)
{
  long reply_code = 0;
  curl_easy_getinfo(m_curl->get(), CURLINFO_RESPONSE_CODE, &reply_code);
  const char* error = m_error;
  const auto said = m_replies.refusal.empty() ? describe(code, error) : "the server said: " + m_replies.refusal;
  // 530/534/535/538: authentication required, too weak, refused, needs encryption.
  const bool auth_reply = reply_code == 530 || reply_code == 534 || reply_code == 535 || reply_code == 538;
  if (code == CURLE_LOGIN_DENIED || code == CURLE_USE_SSL_FAILED || code == CURLE_PEER_FAILED_VERIFICATION ||
      code == CURLE_SSL_CACERT_BADFILE || auth_reply || (reply_code >= 400 && reply_code < 600)) {
    // Wrong credentials or TLS settings, or a server that refuses us before any message:
    // every message would fail the same way, but the operator can fix it, so the message
    // waits (and the breaker pauses the connector).
    return Delivery::retry(said);
  }
  return transient(code) ? Delivery::retry(describe(code, error)) : Delivery::failed(describe(code, error));
}

} // namespace cvmd
