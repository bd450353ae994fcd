#include "connectors/smtp_wire.hpp"

#include <idn2.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <thread>

namespace cvmd {

namespace {

// RFC 5321 4.5.3.1.5 allows 512 octets a reply line; a server that sends far more is not
// speaking SMTP.
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
SmtpWire::wait(short events, Deadline deadline)
{
  curl_socket_t socket = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(m_curl, CURLINFO_ACTIVESOCKET, &socket) != CURLE_OK || socket == CURL_SOCKET_BAD) {
    return false;
  }
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd descriptor{socket, events, 0};
    const int ready = poll(&descriptor, 1, static_cast<int>(left.count()));
    if (ready > 0) {
      return true;
    }
    if (ready < 0 && errno != EINTR) {
      return false;
    }
    // A signal (the daemon's SIGHUP) is no timeout: wait for what is left.
  }
}

std::optional<SmtpReply>
SmtpWire::send(std::string_view data, Deadline deadline)
{
  int waits_in_a_row = 0;
  while (!data.empty()) {
    std::size_t sent = 0;
    // After CURLE_AGAIN the same bytes go again: OpenSSL insists on it.
    const auto code = curl_easy_send(m_curl, data.data(), data.size(), &sent);
    if (code == CURLE_AGAIN) {
      // TLS may need to read before it can write (a key update): either will do. Should the
      // socket be writable all along, a short sleep keeps this from spinning.
      if (++waits_in_a_row > 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (!wait(POLLIN | POLLOUT, deadline)) {
        return SmtpReply{0, "timeout while sending to the server", false};
      }
      continue;
    }
    if (code != CURLE_OK) {
      return SmtpReply{0, std::string("sending failed: ") + curl_easy_strerror(code), true};
    }
    waits_in_a_row = 0;
    data.remove_prefix(sent);
  }
  return std::nullopt;
}

SmtpReply
SmtpWire::read_reply(Deadline deadline)
{
  const auto failure = [&](bool closed, std::string text) {
    m_buffer.clear();
    return SmtpReply{0, std::move(text), closed};
  };
  SmtpReply reply;
  std::size_t start = 0;
  while (true) {
    // A line ends with CRLF, or with a bare LF from servers that send those (libcurl takes
    // them too: a reply it accepted must not go unrecognised here).
    for (auto end = m_buffer.find('\n', start); end != std::string::npos; end = m_buffer.find('\n', start)) {
      std::string_view line(m_buffer.data() + start, end - start);
      start = end + 1;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (!reply_line(line) || (reply.code != 0 && std::atoi(std::string(line.substr(0, 3)).c_str()) != reply.code)) {
        return failure(false, "weird server reply: '" + std::string(line.substr(0, 80)) + "'");
      }
      reply.code = std::atoi(std::string(line.substr(0, 3)).c_str());
      if (!reply.text.empty()) {
        reply.text += ' ';
      }
      reply.text += line;
      if (line.size() == 3 || line[3] == ' ') {
        m_buffer.erase(0, start);
        return reply;
      }
    }
    if (reply.text.size() + (m_buffer.size() - start) > longest_reply) {
      return failure(false, "weird server reply: longer than 64 KiB");
    }
    char chunk[4096];
    std::size_t got = 0;
    const auto code = curl_easy_recv(m_curl, chunk, sizeof chunk, &got);
    if (code == CURLE_AGAIN) {
      if (!wait(POLLIN, deadline)) {
        return failure(false, "timeout while waiting for the server's reply");
      }
      continue;
    }
    if (code != CURLE_OK || got == 0) {
      return failure(true, code == CURLE_OK ? "the server closed the connection"
                                                                 : std::string("receiving failed: ") +
                                                                     curl_easy_strerror(code));
    }
    m_buffer.append(chunk, got);
  }
}

bool
SmtpWire::quiet()
{
  if (!m_buffer.empty()) {
    return false;
  }
  char byte;
  std::size_t got = 0;
  return curl_easy_recv(m_curl, &byte, 1, &got) == CURLE_AGAIN;
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

std::optional<std::string>
smtp_address(std::string_view address)
{
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const auto domain = address.substr(at + 1);
  if (std::all_of(domain.begin(), domain.end(), [](unsigned char c) { return c < 0x80; })) {
    return std::string(address);
  }
  char* ascii = nullptr;
  const std::string input(domain);
  if (idn2_to_ascii_8z(input.c_str(), &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK) {
    return std::nullopt;
  }
  std::string out = std::string(address.substr(0, at + 1)) + ascii;
  idn2_free(ascii);
  return out;
}

} // namespace cvmd
