#include "connectors/smtp_wire.hpp"

#include <poll.h>

#include <algorithm>
#include <cctype>

namespace cvmd {

namespace {

// RFC 5321 4.5.3.1.5 allows 512 octets a reply line; a server that sends far more without
// a line end is not speaking SMTP.
constexpr std::size_t longest_reply = 64 * 1024;

bool
reply_line(std::string_view line)
{
  return line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
         std::isdigit(static_cast<unsigned char>(line[1])) && std::isdigit(static_cast<unsigned char>(line[2])) &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '-');
}

} // namespace

bool
SmtpWire::wait(bool for_writing, Deadline deadline)
{
  curl_socket_t socket = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(m_curl, CURLINFO_ACTIVESOCKET, &socket) != CURLE_OK || socket == CURL_SOCKET_BAD) {
    return false;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    return false;
  }
  pollfd descriptor{socket, static_cast<short>(for_writing ? POLLOUT : POLLIN), 0};
  return poll(&descriptor, 1, static_cast<int>(left.count())) > 0;
}

std::optional<std::string>
SmtpWire::send(std::string_view data, Deadline deadline)
{
  while (!data.empty()) {
    std::size_t sent = 0;
    // After CURLE_AGAIN the same bytes go again: OpenSSL insists on it.
    const auto code = curl_easy_send(m_curl, data.data(), data.size(), &sent);
    if (code == CURLE_AGAIN) {
      if (!wait(true, deadline)) {
        return std::string("timeout while sending to the server");
      }
      continue;
    }
    if (code != CURLE_OK) {
      return std::string("sending failed: ") + curl_easy_strerror(code);
    }
    data.remove_prefix(sent);
  }
  return std::nullopt;
}

SmtpReply
SmtpWire::read_reply(Deadline deadline)
{
  SmtpReply reply;
  std::size_t start = 0;
  while (true) {
    for (auto end = m_buffer.find("\r\n", start); end != std::string::npos; end = m_buffer.find("\r\n", start)) {
      const std::string_view line(m_buffer.data() + start, end - start);
      start = end + 2;
      if (!reply_line(line) || (reply.code != 0 && std::stoi(std::string(line.substr(0, 3))) != reply.code)) {
        m_buffer.clear();
        return {0, "weird server reply: '" + std::string(line.substr(0, 80)) + "'", false};
      }
      reply.code = std::stoi(std::string(line.substr(0, 3)));
      if (!reply.text.empty()) {
        reply.text += ' ';
      }
      reply.text += line;
      if (line.size() == 3 || line[3] == ' ') {
        m_buffer.erase(0, start);
        return reply;
      }
    }
    if (m_buffer.size() - start > longest_reply) {
      m_buffer.clear();
      return {0, "weird server reply: a line longer than 64 KiB", false};
    }
    char chunk[4096];
    std::size_t got = 0;
    const auto code = curl_easy_recv(m_curl, chunk, sizeof chunk, &got);
    if (code == CURLE_AGAIN) {
      if (!wait(false, deadline)) {
        m_buffer.clear();
        return {0, "timeout while waiting for the server's reply", true};
      }
      continue;
    }
    if (code != CURLE_OK || got == 0) {
      m_buffer.clear();
      return {0, code == CURLE_OK ? "the server closed the connection" : std::string("receiving failed: ") +
                                                                             curl_easy_strerror(code),
              false};
    }
    m_buffer.append(chunk, got);
  }
}

std::string
smtp_data(std::string_view message)
{
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < message.size();) {
    if (line_start && message[i] == '.') {
      out += '.';
    }
    const auto end = message.find('\n', i);
    const auto stop = end == std::string_view::npos ? message.size() : end + 1;
    out.append(message.data() + i, stop - i);
    line_start = end != std::string_view::npos;
    i = stop;
  }
  if (!out.empty() && (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0)) {
    out += "\r\n";
  }
  out += ".\r\n";
  return out;
}

} // namespace cvmd
