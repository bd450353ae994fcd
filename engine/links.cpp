#include "engine/links.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <regex>

namespace cvmd {

namespace {

constexpr char separator = '\x1f';
constexpr std::size_t mac_bytes = 16; // 128 bits: guessing one is out of reach

std::string
base64url(const std::string& bytes)
{
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

std::optional<std::string>
from_base64url(std::string text)
{
  if (text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos ||
      text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::replace(text.begin(), text.end(), '-', '+');
  std::replace(text.begin(), text.end(), '_', '/');
  const auto padding = (4 - text.size() % 4) % 4;
  text.append(padding, '=');
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) {
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(n) - padding); // DecodeBlock counts the padding as zero bytes
  return out;
}

std::string
mac(const std::string& secret, const std::string& payload)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), mac_bytes);
}

std::string
html_unescape(std::string text)
{
  static const std::pair<const char*, const char*> entities[] = {{"&quot;", "\""}, {"&#39;", "'"}, {"&#x27;", "'"},
                                                                 {"&apos;", "'"},  {"&lt;", "<"},  {"&gt;", ">"},
                                                                 {"&#38;", "&"},   {"&amp;", "&"}};
  for (const auto& [entity, plain] : entities) {
    for (auto at = text.find(entity); at != std::string::npos; at = text.find(entity, at + 1)) {
      text.replace(at, std::string_view(entity).size(), plain);
    }
  }
  return text;
}

} // namespace

std::string
LinkSigner::link(const LinkClaim& c) const
{
  const std::string payload = std::string("v1") + separator + c.kind + separator + c.key + separator + c.customer +
                              separator + c.channel + separator + c.url;
  const std::string path = c.kind == 'u' ? "/u/" : c.kind == 'o' ? "/o/" : c.kind == 'c' ? "/c/" : "/dlr/";
  return m_public_url + path + base64url(payload) + "." + base64url(mac(m_secret, payload));
}

std::string
LinkSigner::unsubscribe(const std::string& key, const std::string& customer, const std::string& channel) const
{
  return link({'u', key, customer, channel, {}});
}

std::string
LinkSigner::open_pixel(const std::string& key, const std::string& customer) const
{
  return link({'o', key, customer, "email", {}});
}

std::string
LinkSigner::click(const std::string& key, const std::string& customer, const std::string& url) const
{
  return link({'c', key, customer, "email", url});
}

std::string
LinkSigner::delivery_report(const std::string& key, const std::string& customer) const
{
  return link({'d', key, customer, "sms", {}});
}

Result<LinkClaim>
LinkSigner::verify(const std::string& token) const
{
  const auto dot = token.find('.');
  if (dot == std::string::npos) {
    return Result<LinkClaim>::failure("not a signed link");
  }
  const auto payload = from_base64url(token.substr(0, dot));
  const auto given = from_base64url(token.substr(dot + 1));
  if (!payload || !given || given->size() != mac_bytes) {
    return Result<LinkClaim>::failure("not a signed link");
  }
  const auto expected = mac(m_secret, *payload);
  if (CRYPTO_memcmp(expected.data(), given->data(), mac_bytes) != 0) {
    return Result<LinkClaim>::failure("the link's signature does not match");
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at; (at = payload->find(separator, start)) != std::string::npos; start = at + 1) {
    parts.push_back(payload->substr(start, at - start));
  }
  parts.push_back(payload->substr(start));
  if (parts.size() != 6 || parts[0] != "v1" || parts[1].size() != 1) {
    return Result<LinkClaim>::failure("a signed link of an unknown version");
  }
  return LinkClaim{parts[1][0], parts[2], parts[3], parts[4], parts[5]};
}

std::string
track_html(const std::string& html, const LinkSigner& signer, const std::string& key, const std::string& customer)
{
  // Attribute values as Mustache leaves them (entities escaped); only http(s) targets are
  // tracked: mailto:, tel: and anchors stay as they are.
  static const std::regex href(R"re((<a\b[^>]*?\bhref\s*=\s*)("([^"]*)"|'([^']*)'))re", std::regex::icase);
  std::string out;
  auto last = html.cbegin();
  for (std::sregex_iterator it(html.begin(), html.end(), href), end; it != end; ++it) {
    const auto& match = *it;
    out.append(last, match[0].first);
    const auto target = html_unescape(match[3].matched ? match[3].str() : match[4].str());
    const bool web = target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
    if (web && target.rfind(signer.public_url() + "/", 0) != 0) {
      out += match[1].str() + "\"" + signer.click(key, customer, target) + "\"";
    } else {
      out += match[0].str();
    }
    last = match[0].second;
  }
  out.append(last, html.cend());
  const auto pixel = "<img src=\"" + signer.open_pixel(key, customer) + "\" width=\"1\" height=\"1\" alt=\"\" />";
  std::string lower = out;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto body_end = lower.rfind("</body>");
  if (body_end == std::string::npos) {
    return out + pixel;
  }
  return out.insert(body_end, pixel);
}

} // namespace cvmd
