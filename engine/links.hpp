#pragma once
// Signed links: unsubscribe, open pixel, click redirect and delivery reports all carry what
// they are about (the message's key, the customer, the channel, the target URL) and an
// HMAC-SHA256 of it under server.link_secret, so a forged or edited link is refused and a
// click can only lead where the message pointed.
//
// A link is PUBLIC_URL/KIND/TOKEN with TOKEN = base64url(payload) "." base64url(mac[0..16)).

#include "engine/result.hpp"

#include <optional>
#include <string>

namespace cvmd {

struct LinkClaim
{
  char kind = 0;   // 'u' unsubscribe, 'o' open, 'c' click, 'd' delivery report
  std::string key; // the message's idempotency key
  std::string customer;
  std::string channel;
  std::string url; // click: where to go
};

class LinkSigner
{
public:
  LinkSigner(std::string public_url, std::string secret)
    : m_public_url(std::move(public_url)), m_secret(std::move(secret))
  {
  }

  std::string unsubscribe(const std::string& key, const std::string& customer, const std::string& channel) const;
  std::string open_pixel(const std::string& key, const std::string& customer) const;
  std::string click(const std::string& key, const std::string& customer, const std::string& url) const;
  std::string delivery_report(const std::string& key, const std::string& customer) const;

  // The claim of a token (the part after KIND/), or why it is refused.
  Result<LinkClaim> verify(const std::string& token) const;
  const std::string& public_url() const { return m_public_url; }

private:
  std::string link(const LinkClaim& claim) const;
  std::string m_public_url;
  std::string m_secret;
};

// Every <a href="http..."> in an HTML body becomes a signed click link (links already under
// the public URL, such as the unsubscribe link, stay), and an open pixel is added before
// </body>, or at the end.
std::string track_html(const std::string& html, const LinkSigner& signer, const std::string& key,
                       const std::string& customer);

} // namespace cvmd
