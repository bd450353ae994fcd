#include "engine/svg_markup.hpp"

#include <kainjow/mustache.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

namespace cvmd::charts::svg {

namespace {

const std::string replacement = "\xEF\xBF\xBD"; // U+FFFD

// The length of the well-formed UTF-8 sequence at `i`, 0 if there is none.
std::size_t
sequence_length(std::string_view text, std::size_t i)
{
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  std::size_t n = 0;
  unsigned char low = 0x80, high = 0xBF; // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
    high = lead == 0xED ? 0x9F : 0xBF; // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  }
  if (n == 0 || i + n > text.size() || byte(1) < low || byte(1) > high) {
    return 0;
  }
  for (std::size_t k = 2; k < n; ++k) {
    if ((byte(k) & 0xC0) != 0x80) {
      return 0;
    }
  }
  // U+FFFE and U+FFFF are not XML characters either.
  if (lead == 0xEF && byte(1) == 0xBF && byte(2) >= 0xBE) {
    return 0;
  }
  return n;
}

// Ids come from the content, so that charts on one page differ while the same input gives the
// same bytes (FNV-1a).
std::string
content_id(std::string_view kind, std::initializer_list<std::string_view> parts)
{
  std::uint64_t hash = 14695981039346656037ull;
  for (const auto part : parts) {
    for (const char c : part) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    hash = (hash ^ 0xFF) * 1099511628211ull;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return "cvmd-" + std::string(kind) + "-" + buffer;
}

} // namespace

std::string
number(double value, int decimals)
{
  if (!std::isfinite(value) || std::fabs(value) < 0.5 * std::pow(10.0, -decimals)) {
    value = 0;
  }
  char buffer[64];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
  return error == std::errc() ? std::string(buffer, end) : "0";
}

std::string
percent(double share, int decimals)
{
  return number(share * 100, decimals) + "%";
}

std::string
count(std::size_t value)
{
  const auto digits = std::to_string(value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

double
ratio(double part, double whole)
{
  const double r = part / whole;
  return whole > 0 && std::isfinite(r) ? r : 0;
}

std::string
clean(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += c < 0x20 || c == 0x7F ? ' ' : static_cast<char>(c);
      ++i;
    } else if (const auto n = sequence_length(text, i)) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += replacement;
      ++i;
    }
  }
  return out;
}

std::string
escape(std::string_view text)
{
  // The same escaping as the templates' HTML parts and the tracking pages.
  return kainjow::mustache::html_escape<std::string>(clean(text));
}

std::size_t
length(std::string_view utf8)
{
  return static_cast<std::size_t>(
    std::count_if(utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string
shorten(std::string_view text, std::size_t max_chars)
{
  auto cleaned = clean(text);
  if (length(cleaned) <= max_chars) {
    return cleaned;
  }
  const std::size_t keep = max_chars > 0 ? max_chars - 1 : 0; // characters before the ellipsis
  std::size_t end = 0, seen = 0;
  for (; end < cleaned.size(); ++end) {
    if ((static_cast<unsigned char>(cleaned[end]) & 0xC0) != 0x80 && seen++ == keep) {
      break;
    }
  }
  return cleaned.substr(0, end) + "\xE2\x80\xA6"; // …
}

double
text_width(std::string_view utf8, double font_size)
{
  return static_cast<double>(length(utf8)) * font_size * 0.62;
}

const char*
category_colour(std::size_t index)
{
  static const std::array<const char*, 8> okabe_ito = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                                       "#56B4E9", "#D55E00", "#F0E442", "#000000"};
  return okabe_ito[index % okabe_ito.size()];
}

std::string
sequential_colour(double value)
{
  static const std::array<std::array<int, 3>, 9> blues = {{{247, 251, 255},
                                                           {222, 235, 247},
                                                           {198, 219, 239},
                                                           {158, 202, 225},
                                                           {107, 174, 214},
                                                           {66, 146, 198},
                                                           {33, 113, 181},
                                                           {8, 81, 156},
                                                           {8, 48, 107}}};
  const double v = std::isfinite(value) ? std::clamp(value, 0.0, 1.0) * 8 : 0;
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(v), 7);
  const double t = v - static_cast<double>(i);
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x",
                static_cast<int>(std::lround(blues[i][0] + t * (blues[i + 1][0] - blues[i][0]))),
                static_cast<int>(std::lround(blues[i][1] + t * (blues[i + 1][1] - blues[i][1]))),
                static_cast<int>(std::lround(blues[i][2] + t * (blues[i + 1][2] - blues[i][2]))));
  return buffer;
}

const char*
text_colour_on(std::string_view background)
{
  // WCAG relative luminance; the contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05).
  double luminance = 0;
  const std::array<double, 3> weights = {0.2126, 0.7152, 0.0722};
  for (std::size_t k = 0; k < 3 && background.size() >= 7; ++k) {
    int channel = 0;
    std::from_chars(background.data() + 1 + 2 * k, background.data() + 3 + 2 * k, channel, 16);
    const double s = channel / 255.0;
    luminance += weights[k] * (s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4));
  }
  return (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) ? "#000000" : "#ffffff";
}

Canvas::Canvas(std::string_view kind, std::string_view title, double width)
  : m_kind(kind), m_title(title), m_width(width)
{
  label(12, 24, title, static_cast<std::size_t>(width / 9.5), "font-size=\"15\" font-weight=\"bold\"");
}

Canvas&
Canvas::operator<<(std::string_view markup)
{
  m_body += markup;
  return *this;
}

void
Canvas::text(double x, double y, std::string_view content, std::string_view attributes)
{
  m_body += "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\"" + (attributes.empty() ? "" : " ") +
            std::string(attributes) + ">" + escape(content) + "</text>\n";
}

void
Canvas::label(double x, double y, std::string_view content, std::size_t max_chars, std::string_view attributes)
{
  const auto cleaned = clean(content);
  const auto shown = shorten(cleaned, max_chars);
  m_body += "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\"" + (attributes.empty() ? "" : " ") +
            std::string(attributes) + ">" + (shown == cleaned ? "" : "<title>" + escape(cleaned) + "</title>") +
            escape(shown) + "</text>\n";
}

std::string
Canvas::finish(double height, std::string_view description) const
{
  const auto id = content_id(m_kind, {m_title, description, m_body});
  const auto w = number(m_width), h = number(std::max(height, 1.0));
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + w + " " + h +
         "\" width=\"100%\" role=\"img\" aria-labelledby=\"" + id + "-title " + id + "-desc\" data-chart=\"" + m_kind +
         "\" font-family=\"system-ui, sans-serif\" font-size=\"12\" fill=\"#1a1a1a\">\n<title id=\"" + id +
         "-title\">" + escape(m_title) + "</title>\n<desc id=\"" + id + "-desc\">" + escape(description) +
         "</desc>\n<rect width=\"" + w + "\" height=\"" + h + "\" fill=\"#ffffff\"/>\n" + m_body + "</svg>\n";
}

std::string
empty_chart(std::string_view kind, std::string_view title)
{
  Canvas canvas(kind, title, 480);
  canvas.text(240, 72, "no data yet", "text-anchor=\"middle\" fill=\"#555555\" font-size=\"14\"");
  return canvas.finish(100, "No data yet.");
}

} // namespace cvmd::charts::svg
