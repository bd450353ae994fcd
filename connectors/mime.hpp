#pragma once
// Internet messages (RFC 5322) with MIME (RFC 2045-2047): the exact bytes an SMTP
// connector hands over and the file connector writes, so a dry run shows what would leave.

#include "connectors/connector.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace cvmd {

struct Mailbox
{
  std::string name;    // display name, UTF-8, may be empty
  std::string address; // addr-spec
};

// "Shop <news@shop.example>" or "news@shop.example"; empty address when it is neither.
Mailbox parse_mailbox(std::string_view text);
// A plausible addr-spec with nothing that could break a header or an SMTP command.
bool valid_address(std::string_view address);

// One header line, folded; the value as RFC 2047 encoded words when it is not plain ASCII.
std::string encode_header_text(std::string_view utf8);
std::string format_mailbox(const Mailbox& mailbox);
std::string quoted_printable(std::string_view text);
// The same, appended to `out` (a message is built in one string).
void append_quoted_printable(std::string& out, std::string_view text);
// RFC 5322 date-time in UTC: "Fri, 04 Dec 2026 20:25:22 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);
// Stable for a key, so that every attempt of one message carries the same Message-ID.
std::string message_id_for(std::string_view key, std::string_view domain);

// The whole message: multipart/alternative when there is both a text and an HTML part,
// List-Unsubscribe (+ one-click, RFC 8058) when the message has an unsubscribe link, the
// idempotency key in X-Cvmd-Key. Lines end in CRLF.
std::string build_email(const RenderedMessage& message, const Mailbox& from, std::int64_t now);

} // namespace cvmd
