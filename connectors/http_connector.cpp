#include "connectors/http_connector.hpp"

#include "connectors/http_request.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>
#include <kainjow/mustache.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace cvmd {

namespace {

kainjow::mustache::data
message_data(const RenderedMessage& m, const ConnectorConfig& config)
{
  kainjow::mustache::data d;
  d.set("key", m.key);
  d.set("channel", m.channel);
  d.set("to", m.to);
  d.set("to_name", m.to_name);
  d.set("from", config.from);
  d.set("subject", m.subject);
  d.set("text", m.text);
  d.set("html", m.html);
  d.set("unsubscribe_url", m.unsubscribe_url);
  d.set("status_url", m.status_url);
  return d;
}

std::string
render(const std::string& pattern, const kainjow::mustache::data& values)
{
  kainjow::mustache::mustache compiled(pattern);
  compiled.set_custom_escape([](const std::string& s) { return s; }); // the body's own encoding escapes
  return compiled.render(values);
}

// `sid`, or `messages.0.id` for an id inside an array.
std::string
find_id(const std::string& body, const std::string& path)
{
  if (path.empty()) {
    return {};
  }
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec) {
    return {};
  }
  const boost::json::value* at = &value;
  std::size_t start = 0;
  while (at && start <= path.size()) {
    const auto end = std::min(path.find('.', start), path.size());
    const auto part = path.substr(start, end - start);
    if (const auto* object = at->if_object()) {
      at = object->if_contains(part);
    } else if (const auto* array = at->if_array();
               array && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
      const auto index = std::stoul(part);
      at = index < array->size() ? &(*array)[index] : nullptr;
    } else {
      at = nullptr;
    }
    start = end + 1;
  }
  if (!at) {
    return {};
  }
  if (const auto* text = at->if_string()) {
    return std::string(*text);
  }
  return at->is_null() ? std::string() : boost::json::serialize(*at);
}

} // namespace

std::string
hmac_sha256_hex(std::string_view key, std::string_view data)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &length);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

Delivery
HttpConnector::deliver(const RenderedMessage& m)
{
  if (m.channel == "sms" && m.to.empty()) {
    return Delivery::refused("the customer has no phone number");
  }
  if (m.channel == "email" && m.to.empty()) {
    return Delivery::refused("the customer has no email address");
  }
  HttpRequest request;
  request.method = m_config.method;
  request.url = m_config.url;
  request.username = m_config.username;
  request.password = m_config.password;
  bool has_content_type = false;
  for (const auto& [name, value] : m_config.headers) {
    request.headers.push_back(name + ": " + value);
    has_content_type = has_content_type || boost::algorithm::iequals(name, "content-type");
  }
  request.headers.push_back("X-Cvmd-Key: " + m.key);
  if (m_config.type == "webhook") {
    request.body = m.text;
    if (!has_content_type) {
      request.headers.push_back("Content-Type: application/json");
    }
  } else {
    const auto values = message_data(m, m_config);
    if (m_config.format == "form") {
      for (const auto& [name, pattern] : m_config.fields) {
        request.body +=
          (request.body.empty() ? "" : "&") + url_encode(name) + "=" + url_encode(render(pattern, values));
      }
      if (!has_content_type) {
        request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
      }
    } else {
      boost::json::object body;
      for (const auto& [name, pattern] : m_config.fields) {
        body[name] = render(pattern, values);
      }
      request.body = boost::json::serialize(body);
      if (!has_content_type) {
        request.headers.push_back("Content-Type: application/json");
      }
    }
  }
  if (!m_config.signing_secret.empty()) {
    request.headers.push_back("X-Cvmd-Signature: sha256=" + hmac_sha256_hex(m_config.signing_secret, request.body));
  }
  const auto answer = perform(m_curl, request, static_cast<long>(m_config.timeout_ms), m_config.ca_file);
  return classify(answer, find_id(answer.body, m_config.id_field));
}

} // namespace cvmd
