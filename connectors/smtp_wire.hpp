#pragma once
// The mail transaction on a connection libcurl opened: libcurl does the greeting, EHLO,
// STARTTLS and AUTH (CURLOPT_CONNECT_ONLY), then MAIL, RCPT, DATA and the message go through
// curl_easy_send/recv, all three commands in one write when the server offers PIPELINING
// (RFC 2920). libcurl's own SMTP transfer waits for each reply and sends the end of the
// data on its own: five writes and four round trips a message, against two and two.

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cvmd {

struct SmtpReply
{
  int code = 0;        // 0: no reply, `text` says why
  std::string text;    // the reply's lines joined by " ", or what went wrong when code is 0
  bool closed = false; // no reply because the connection was closed or reset: the server
                       // will not answer any more (a timeout or a reply that is not SMTP
                       // says nothing of what it took)
};

class SmtpWire
{
public:
  using Deadline = std::chrono::steady_clock::time_point;

  explicit SmtpWire(CURL* curl) : m_curl(curl) {}

  // Everything, or what went wrong (a reply with code 0).
  std::optional<SmtpReply> send(std::string_view data, Deadline deadline);
  SmtpReply read_reply(Deadline deadline);
  // Before a kept connection is used again: false when the server said something nobody
  // asked for (a 421 before closing, a reply out of turn) or closed it meanwhile.
  bool quiet();

private:
  // Waits for the socket; false at the deadline.
  bool wait(short events, Deadline deadline);

  CURL* m_curl;
  std::string m_buffer;
};

// The message as DATA carries it: lines starting with "." get another (RFC 5321 4.5.2),
// the last line ends with CRLF, and "." on a line of its own ends it.
std::string smtp_data(std::string_view message);

// The address for RCPT TO: the domain as IDNA A-labels ("xn--"), the local part as it is;
// nothing when the domain cannot be written so.
std::optional<std::string> smtp_address(std::string_view address);

} // namespace cvmd
