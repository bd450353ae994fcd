#include "connectors/kannel_connector.hpp"

#include "connectors/http_request.hpp"
#include "dsl/sms_text.hpp"

#include <algorithm>
#include <cctype>

namespace cvmd {

bool
valid_phone(std::string_view number)
{
  if (!number.empty() && number.front() == '+') {
    number.remove_prefix(1);
  }
  return number.size() >= 6 && number.size() <= 16 &&
         std::all_of(number.begin(), number.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string
KannelConnector::request_url(const RenderedMessage& m) const
{
  std::string url = m_config.url;
  url += url.find('?') == std::string::npos ? '?' : '&';
  const auto add = [&](std::string_view name, std::string_view value) {
    if (url.back() != '?') {
      url += '&';
    }
    url.append(name).append("=").append(url_encode(value));
  };
  add("username", m_config.username);
  add("password", m_config.password);
  if (!m_config.from.empty()) {
    add("from", m_config.from);
  }
  add("to", m.to);
  add("text", m.text);
  add("charset", "UTF-8");
  // Kannel converts the UTF-8 text to what the coding says; UCS-2 keeps every character.
  add("coding", sms_size(m.text).gsm7 ? "0" : "2");
  if (!m.status_url.empty()) {
    add("dlr-mask", std::to_string(m_config.dlr_mask));
    // Kannel fills %d (the report's type) and %T (its time) when it calls back.
    add("dlr-url", m.status_url + (m.status_url.find('?') == std::string::npos ? "?" : "&") + "type=%d&at=%T");
  }
  return url;
}

Delivery
KannelConnector::deliver(const RenderedMessage& m)
{
  if (m.to.empty()) {
    return Delivery::refused("the customer has no phone number");
  }
  if (!valid_phone(m.to)) {
    return Delivery::refused("'" + m.to + "' is not a phone number (digits, optionally with a leading +)");
  }
  HttpRequest request;
  request.method = "GET";
  request.url = request_url(m);
  auto answer = perform(m_curl, request, static_cast<long>(m_config.timeout_ms), m_config.ca_file);
  if (answer.code != CURLE_OK) {
    // libcurl's message may quote the URL, which holds the password.
    answer.error = curl_easy_strerror(answer.code);
  }
  // 202 "0: Accepted for delivery" or "3: Queued for later delivery"; Kannel gives no id of
  // its own here, so delivery reports find the message by the key in their URL.
  return classify(answer, m.key);
}

} // namespace cvmd
