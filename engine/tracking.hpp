#pragma once
// The endpoints behind the links messages carry (engine/links): the open pixel, the click
// redirect, unsubscribe (GET: a confirmation page; POST: RFC 8058 one-click) and Kannel's
// delivery reports. A link whose signature does not verify gets 403 and records nothing;
// what a good one says becomes an event in the store (committed before the answer), where
// scenarios see it (`opened`, `clicked`, `unsubscribed`).

#include "engine/http_types.hpp"
#include "engine/links.hpp"
#include "engine/store.hpp"

#include <functional>

namespace cvmd {

class Tracker
{
public:
  using Now = std::function<std::int64_t()>;
  // `base_path`: the path of server.public_url ("/cvmd"), under which the links live.
  Tracker(Store& store, LinkSigner signer, std::string base_path, Now now);

  // Whether `target` is one of ours (under the base path: /o/, /c/, /u/, /dlr/).
  bool handles(const std::string& target) const;
  HttpReply handle(const HttpRequestView& request);

private:
  HttpReply open(const LinkClaim& claim);
  HttpReply click(const LinkClaim& claim);
  HttpReply unsubscribe(const LinkClaim& claim, const HttpRequestView& request, const std::string& token);
  HttpReply delivery_report(const LinkClaim& claim, const std::string& query);
  bool record(const LinkClaim& claim, const std::string& type, const std::string& properties);

  Store& m_store;
  LinkSigner m_signer;
  std::string m_base;
  Now m_now;
};

} // namespace cvmd
