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
  int code = 0;       // 0: no reply (the connection broke, timed out or spoke no SMTP)
  std::string text;   // the reply's lines joined by " ", or what went wrong when code is 0
  bool timed_out = false;

  bool positive() const { return code >= 200 && code < 400; }
};

class SmtpWire
{
public:
  using Deadline = std::chrono::steady_clock::time_point;

  explicit SmtpWire(CURL* curl) : m_curl(curl) {}

  // Everything or an error message.
  std::optional<std::string> send(std::string_view data, Deadline deadline);
  SmtpReply read_reply(Deadline deadline);
  // Replies already read but not yet asked for, and bytes after them: after a complete
  // exchange there are none unless the server talks out of turn.
  bool idle() const { return m_buffer.empty(); }

private:
  // Waits until the socket can be read (or written); false at the deadline.
  bool wait(bool for_writing, Deadline deadline);

  CURL* m_curl;
  std::string m_buffer;
};

// The message as DATA carries it: lines starting with "." get another (RFC 5321 4.5.2),
// the last line ends with CRLF, and "." on a line of its own ends it.
std::string smtp_data(std::string_view message);

} // namespace cvmd
