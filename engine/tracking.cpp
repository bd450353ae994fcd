#include "engine/tracking.hpp"

#include <boost/json.hpp>
#include <kainjow/mustache.hpp>

namespace cvmd {

namespace {

// The smallest transparent GIF.
const std::string pixel("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
                        "\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;",
                        43);

// The same escaping as the templates' HTML parts.
std::string
html_escape(const std::string& text)
{
  return kainjow::mustache::html_escape<std::string>(text);
}

HttpReply
page(int status, const std::string& title, const std::string& body_html)
{
  return {status,
          "text/html; charset=utf-8",
          "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
          "content=\"width=device-width\"><title>" +
            html_escape(title) + "</title></head><body>" + body_html + "</body></html>\n",
          {{"Cache-Control", "no-store"}}};
}

} // namespace

Tracker::Tracker(Store& store, LinkSigner signer, std::string base_path, Now now)
  : m_store(store), m_signer(std::move(signer)), m_base(std::move(base_path)), m_now(std::move(now))
{
  while (!m_base.empty() && m_base.back() == '/') {
    m_base.pop_back();
  }
}

bool
Tracker::handles(const std::string& target) const
{
  if (target.rfind(m_base + "/", 0) != 0) {
    return false;
  }
  const auto rest = target.substr(m_base.size());
  return rest.rfind("/o/", 0) == 0 || rest.rfind("/c/", 0) == 0 || rest.rfind("/u/", 0) == 0 ||
         rest.rfind("/dlr/", 0) == 0;
}

HttpReply
Tracker::handle(const HttpRequestView& request)
{
  auto path = request.target.substr(m_base.size());
  std::string query;
  if (const auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path.resize(q);
  }
  const auto slash = path.find('/', 1);
  const auto kind = path.substr(1, slash - 1);
  const auto token = path.substr(slash + 1);
  const auto claim = m_signer.verify(token);
  // The kind in the path must be the kind signed into the link: an open link cannot be
  // replayed as an unsubscribe.
  const char expected = kind == "o" ? 'o' : kind == "c" ? 'c' : kind == "u" ? 'u' : 'd';
  if (!claim || claim->kind != expected) {
    return page(403, "Link not valid", "<p>This link is not valid.</p>");
  }
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (expected == 'u' && (get || request.method == "POST")) {
    return unsubscribe(*claim, request, token);
  }
  if (!get) {
    return {405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET, HEAD"}}};
  }
  if (request.method == "HEAD") {
    // Link scanners ask with HEAD: answered, never recorded as an open or a click.
    return expected == 'c' ? HttpReply{302, "text/plain; charset=utf-8", "", {{"Location", claim->url}}}
                           : HttpReply::text(200, "");
  }
  return expected == 'o' ? open(*claim) : expected == 'c' ? click(*claim) : delivery_report(*claim, query);
}

bool
Tracker::record(const LinkClaim& claim, const std::string& type, const std::string& properties)
{
  try {
    Store::Writer writer(m_store);
    writer.insert_event({claim.customer, type, m_now(), properties});
    writer.commit();
    return true;
  } catch (const std::exception&) {
    return false; // the customer is gone, or the store refuses: nothing half-written
  }
}

HttpReply
Tracker::open(const LinkClaim& claim)
{
  const auto message = m_store.outbox({"", claim.key, "", 1});
  const auto properties = boost::json::serialize(boost::json::object{
    {"template", message.empty() ? "" : message.front().template_name}, {"message_key", claim.key}});
  record(claim, "opened", properties); // the pixel is answered either way
  return {200, "image/gif", pixel, {{"Cache-Control", "no-store, max-age=0"}}};
}

HttpReply
Tracker::click(const LinkClaim& claim)
{
  const auto message = m_store.outbox({"", claim.key, "", 1});
  const auto properties =
    boost::json::serialize(boost::json::object{{"template", message.empty() ? "" : message.front().template_name},
                                               {"message_key", claim.key},
                                               {"url", claim.url}});
  record(claim, "clicked", properties);
  // Only to the URL signed into the link: nothing in the request can change where it goes.
  return {302, "text/plain; charset=utf-8", "", {{"Location", claim.url}, {"Cache-Control", "no-store"}}};
}

HttpReply
Tracker::unsubscribe(const LinkClaim& claim, const HttpRequestView& request, const std::string& token)
{
  if (request.method != "POST") {
    // Mail scanners follow links: a GET only asks, the button (or a one-click POST from the
    // mail client, RFC 8058) unsubscribes.
    return page(200, "Unsubscribe",
                "<form method=\"post\" action=\"" + html_escape(m_base + "/u/" + token) + "\"><p>Stop " +
                  html_escape(claim.channel) +
                  " messages from us?</p><button type=\"submit\" name=\"List-Unsubscribe\" "
                  "value=\"One-Click\">Unsubscribe</button></form>");
  }
  if (!m_store.unsubscribed(claim.customer, claim.channel)) { // a repeated click changes nothing
    const auto properties =
      boost::json::serialize(boost::json::object{{"channel", claim.channel}, {"message_key", claim.key}});
    if (!record(claim, "unsubscribed", properties)) {
      return page(503, "Try again", "<p>We could not record this just now; please try again.</p>");
    }
  }
  return page(200, "Unsubscribed",
              "<p>You will not get " + html_escape(claim.channel) + " messages from us any more.</p>");
}

HttpReply
Tracker::delivery_report(const LinkClaim& claim, const std::string& query)
{
  // Kannel's %d: 1 delivered, 2 undelivered, 4 buffered, 8 accepted by the SMSC, 16 rejected.
  std::string type;
  for (std::size_t at = 0; at < query.size();) {
    const auto end = std::min(query.find('&', at), query.size());
    const auto pair = query.substr(at, end - at);
    if (pair.rfind("type=", 0) == 0) {
      type = pair.substr(5);
    }
    at = end + 1;
  }
  if (type.empty() || type.find_first_not_of("0123456789") != std::string::npos || type.size() > 3) {
    return HttpReply::text(400, "type must be Kannel's delivery report number\n");
  }
  const auto properties =
    boost::json::serialize(boost::json::object{{"message_key", claim.key}, {"status", std::stoi(type)}});
  if (!record(claim, "delivery_report", properties)) {
    return HttpReply::text(503, "not recorded, try again\n"); // Kannel retries
  }
  return HttpReply::text(200, "ok\n");
}

} // namespace cvmd
