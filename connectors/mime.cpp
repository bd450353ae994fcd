#include "connectors/mime.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace cvmd {

namespace {

bool
plain_ascii(std::string_view text)
{
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

std::string
base64(std::string_view bytes)
{
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written =
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                    static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

// The length of the longest prefix of at most `limit` bytes that ends between two UTF-8
// characters, so an encoded word never splits one.
std::size_t
utf8_prefix(std::string_view text, std::size_t limit)
{
  if (text.size() <= limit) {
    return text.size();
  }
  auto n = limit;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) {
    --n;
  }
  return n;
}

// CR and LF in a header value would start a new header: they become spaces.
std::string
one_line(std::string_view text)
{
  std::string out(text);
  std::replace_if(
    out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return out;
}

std::string
boundary_for(std::string_view key)
{
  return "=_cvmd_" + message_id_for(key, "b").substr(1, 24);
}

} // namespace

Mailbox
parse_mailbox(std::string_view text)
{
  const auto open = text.rfind('<');
  const auto close = text.rfind('>');
  Mailbox out;
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    auto name = std::string(text.substr(0, open));
    name.erase(name.find_last_not_of(" \t") + 1);
    name.erase(0, name.find_first_not_of(" \t"));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    out.name = name;
    out.address = std::string(text.substr(open + 1, close - open - 1));
  } else {
    out.address = std::string(text);
  }
  if (!valid_address(out.address)) {
    out.address.clear();
  }
  return out;
}

bool
valid_address(std::string_view address)
{
  const auto at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= address.size() || address.size() > 254 ||
      address.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return std::none_of(address.begin(), address.end(), [](unsigned char c) {
    return c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' || c == '"' ||
           c == '\\';
  });
}

std::string
encode_header_text(std::string_view utf8)
{
  const auto text = one_line(utf8);
  if (plain_ascii(text) && text.size() <= 900) {
    return text;
  }
  // Base64 encoded words of at most 39 bytes (64 characters with their frame) keep every
  // line within 76 characters (RFC 2047 2.), "Subject: " included; longer ASCII text is
  // encoded too, so that no line reaches RFC 5322's 998.
  std::string out;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto n = utf8_prefix(rest, 39);
    if (n == 0) {
      n = std::min<std::size_t>(rest.size(), 39);
    }
    if (!out.empty()) {
      out += "\r\n ";
    }
    out += "=?UTF-8?B?" + base64(rest.substr(0, n)) + "?=";
    rest.remove_prefix(n);
  }
  return out;
}

std::string
format_mailbox(const Mailbox& mailbox)
{
  if (mailbox.name.empty()) {
    return mailbox.address;
  }
  const auto name = one_line(mailbox.name);
  const bool atoms_only = plain_ascii(name) && name.find_first_of("()<>[]:;@\\,.\"") == std::string::npos;
  if (atoms_only) {
    return name + " <" + mailbox.address + ">";
  }
  if (plain_ascii(name)) {
    std::string quoted = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') {
        quoted += '\\';
      }
      quoted += c;
    }
    return quoted + "\" <" + mailbox.address + ">";
  }
  return encode_header_text(name) + "\r\n <" + mailbox.address + ">"; // folded: the words fill their lines
}

void
append_quoted_printable(std::string& out, std::string_view text)
{
  static const char hex[] = "0123456789ABCDEF";
  constexpr std::size_t line_limit = 75; // 76 with the soft break's "="
  out.reserve(out.size() + text.size() + text.size() / 24 + 8);
  std::size_t column = 0;
  const auto soft_break_for = [&](std::size_t width) {
    if (column + width > line_limit) {
      out += "=\r\n";
      column = 0;
    }
  };
  const auto line_end_at = [&](std::size_t i) { return i == text.size() || text[i] == '\n' || text[i] == '\r'; };
  const auto encode = [&](unsigned char c) {
    soft_break_for(3);
    const char encoded[3] = {'=', hex[c >> 4], hex[c & 15]};
    out.append(encoded, 3);
    column += 3;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      i += c == '\r' ? 2 : 1;
      out += "\r\n";
      column = 0;
      continue;
    }
    if (column == line_limit) {
      out += "=\r\n";
      column = 0;
    }
    // A line starting with "." is dot-stuffed by libcurl, but some agents mangle a line
    // starting with "From " (also after a soft break): encoding its F keeps the text intact.
    if (column == 0 && text.substr(i, 5) == "From ") {
      encode(c);
      ++i;
      continue;
    }
    // The longest run that goes as it is and still fits the line: printable ASCII but "=",
    // and blanks unless a line ends right after them (trailing blanks would be stripped).
    auto run_end = i;
    const auto run_limit = std::min(text.size(), i + (line_limit - column));
    while (run_end < run_limit) {
      const auto r = static_cast<unsigned char>(text[run_end]);
      const bool blank = r == ' ' || r == '\t';
      if (!((r >= 33 && r <= 126 && r != '=') || (blank && !line_end_at(run_end + 1)))) {
        break;
      }
      ++run_end;
    }
    if (run_end == i) {
      encode(c);
      ++i;
      continue;
    }
    out.append(text.data() + i, run_end - i);
    column += run_end - i;
    i = run_end;
  }
}

std::string
quoted_printable(std::string_view text)
{
  std::string out;
  append_quoted_printable(out, text);
  return out;
}

std::string
rfc5322_date(std::int64_t unix_seconds)
{
  // Messages sent in one second share the text: formatting it was a tenth of building one.
  thread_local std::int64_t last_seconds = -1;
  thread_local std::string last_text;
  if (unix_seconds == last_seconds) {
    return last_text;
  }
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[utc.tm_wday], utc.tm_mday,
                months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  last_seconds = unix_seconds;
  last_text = buffer;
  return last_text;
}

std::string
message_id_for(std::string_view key, std::string_view domain)
{
  // Fetched once: OpenSSL 3's one-shot SHA256() looks the algorithm up on every call,
  // which cost more than the hashing (a few microseconds per message).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  if (!sha256 || !EVP_Digest(key.data(), key.size(), digest, nullptr, sha256, nullptr)) {
    throw std::runtime_error("OpenSSL could not hash a message key (SHA-256 unavailable)");
  }
  static const char hex[] = "0123456789abcdef";
  std::string out = "<";
  for (int i = 0; i < 16; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out + ".cvmd@" + std::string(domain) + ">";
}

std::string
build_email(const RenderedMessage& m, const Mailbox& from, std::int64_t now)
{
  const auto domain = from.address.substr(from.address.find('@') + 1);
  std::string out;
  const auto header = [&](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  header("From", format_mailbox(from));
  header("To", format_mailbox({m.to_name, m.to}));
  header("Subject", encode_header_text(m.subject));
  header("Date", rfc5322_date(now));
  header("Message-ID", message_id_for(m.key, domain));
  header("MIME-Version", "1.0");
  header("X-Cvmd-Key", encode_header_text(m.key));
  if (!m.unsubscribe_url.empty()) {
    header("List-Unsubscribe", "<" + one_line(m.unsubscribe_url) + ">");
    header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
  }
  const auto part_headers = [&](std::string_view type) {
    header("Content-Type", std::string(type) + "; charset=UTF-8");
    header("Content-Transfer-Encoding", "quoted-printable");
  };
  const bool both = !m.text.empty() && !m.html.empty();
  if (!both) {
    part_headers(m.html.empty() ? "text/plain" : "text/html");
    out += "\r\n";
    append_quoted_printable(out, m.html.empty() ? m.text : m.html);
    out += "\r\n";
    return out;
  }
  const auto boundary = boundary_for(m.key);
  header("Content-Type", "multipart/alternative; boundary=\"" + boundary + "\"");
  out += "\r\nThis is a multi-part message in MIME format.\r\n";
  for (const auto& [type, body] : {std::pair{"text/plain", &m.text}, std::pair{"text/html", &m.html}}) {
    out += "\r\n--" + boundary + "\r\n";
    part_headers(type);
    out += "\r\n";
    append_quoted_printable(out, *body);
    out += "\r\n";
  }
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

} // namespace cvmd
