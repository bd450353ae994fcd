#include "connectors/smtp_connector.hpp"

#include <chrono>
#include <cstring>

namespace cvmd {

namespace {

std::size_t
read_upload(char* buffer, std::size_t size, std::size_t count, void* user)
{
  auto* connector_state = static_cast<std::pair<const std::string*, std::size_t*>*>(user);
  const auto& data = *connector_state->first;
  auto& offset = *connector_state->second;
  const auto n = std::min(size * count, data.size() - offset);
  std::memcpy(buffer, data.data() + offset, n);
  offset += n;
  return n;
}

// The server's replies reach us only through the debug callback; the last one says what
// became of the message ("250 2.0.0 Ok: queued as 4F3A2", "452 4.3.1 try later").
int
on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user)
{
  if (type == CURLINFO_HEADER_OUT) {
    auto& replies = *static_cast<SmtpConnector::Replies*>(user);
    const std::string_view line(data, size);
    replies.command = std::string(line.substr(0, std::min(line.find_first_of(" \r\n"), std::size_t{8})));
  }
  if (type == CURLINFO_HEADER_IN) {
    auto& replies = *static_cast<SmtpConnector::Replies*>(user);
    std::string line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.pop_back();
    }
    if (replies.refusal.empty() && !line.empty() && (line.front() == '4' || line.front() == '5')) {
      replies.refusal = line;
      replies.refused = replies.command;
    }
    replies.last = std::move(line);
  }
  return 0;
}

std::string
queued_id(const std::string& reply)
{
  const auto at = reply.find("queued as ");
  if (at == std::string::npos) {
    return {};
  }
  auto id = reply.substr(at + 10);
  id.erase(id.find_last_not_of(" \t") + 1);
  return id;
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
  // What stays the same for every message is set once.
  CURL* curl = m_curl.get();
  m_curl.set_common(static_cast<long>(m_config.timeout_ms), m_config.ca_file);
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
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, m_envelope_from.c_str());
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &m_replies);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, m_error);
}

SmtpConnector::~SmtpConnector()
{
  curl_slist_free_all(m_recipients);
}

Delivery
SmtpConnector::deliver(const RenderedMessage& m)
{
  if (auto at_once = begin(m)) {
    return *at_once;
  }
  return end(curl_easy_perform(m_curl.get()));
}

std::optional<Delivery>
SmtpConnector::begin(const RenderedMessage& m)
{
  if (m.to.empty()) {
    return Delivery::refused("the customer has no email address");
  }
  if (!valid_address(m.to)) {
    return Delivery::refused("'" + m.to + "' is not an email address");
  }
  if (m_from.address.empty()) {
    return Delivery::refused("connectors." + m_config.name + ".from is not an address");
  }
  m_key = m.key;
  m_message = build_email(m, m_from, m_now());
  m_sent = 0;
  m_replies = {};
  m_error[0] = '\0';
  curl_slist_free_all(m_recipients);
  m_recipients = curl_slist_append(nullptr, ("<" + m.to + ">").c_str());
  CURL* curl = m_curl.get();
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, m_recipients);
  m_upload = {&m_message, &m_sent};
  curl_easy_setopt(curl, CURLOPT_READDATA, &m_upload);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(m_message.size()));
  return std::nullopt;
}

Delivery
SmtpConnector::end(CURLcode code)
{
  long reply_code = 0;
  curl_easy_getinfo(m_curl.get(), CURLINFO_RESPONSE_CODE, &reply_code);
  const auto& replies = m_replies;
  const char* error = m_error;
  if (code == CURLE_OK) {
    auto id = queued_id(replies.last);
    return Delivery::delivered(
      id.empty() ? message_id_for(m_key, m_from.address.substr(m_from.address.find('@') + 1)) : id, replies.last);
  }
  const auto said = replies.refusal.empty() ? describe(code, error) : "the server said: " + replies.refusal;
  // 530/534/535/538: authentication required, too weak, refused, needs encryption.
  const bool auth_reply = reply_code == 530 || reply_code == 534 || reply_code == 535 || reply_code == 538;
  if (code == CURLE_LOGIN_DENIED || code == CURLE_USE_SSL_FAILED || code == CURLE_PEER_FAILED_VERIFICATION ||
      code == CURLE_SSL_CACERT_BADFILE || auth_reply) {
    // Wrong credentials or TLS settings: every message would fail the same way, but the
    // operator can fix them, so the message waits (and the breaker pauses the connector).
    return Delivery::retry(said);
  }
  if (reply_code >= 400 && reply_code < 500) {
    return Delivery::retry(said);
  }
  if (reply_code >= 500 && reply_code < 600) {
    // A refusal of the recipient or of this message's content is final; one of the
    // greeting, EHLO or MAIL FROM refuses the sender (reputation, configuration) and would
    // refuse every message alike: those wait for an operator, like credentials.
    const bool about_this_message = replies.refused == "RCPT" || replies.refused == "DATA";
    return about_this_message ? Delivery::failed(said) : Delivery::retry(said);
  }
  return transient(code) ? Delivery::retry(describe(code, error)) : Delivery::failed(describe(code, error));
}

} // namespace cvmd
