#include "dsl/sms_text.hpp"

#include <algorithm>
#include <array>

namespace cvmd {

namespace {

// The GSM 03.38 basic character set and its extension table (two septets each), as
// Unicode code points.
constexpr std::array<char32_t, 128> basic = {
  U'@', U'£',  U'$', U'¥', U'è', U'é', U'ù', U'ì', U'ò', U'Ç', U'\n', U'Ø', U'ø', U'\r', U'Å', U'å', U'Δ', U'_', U'Φ',
  U'Γ', U'Λ',  U'Ω', U'Π', U'Ψ', U'Σ', U'Θ', U'Ξ', 0x1B, U'Æ', U'æ',  U'ß', U'É', U' ',  U'!', U'"', U'#', U'¤', U'%',
  U'&', U'\'', U'(', U')', U'*', U'+', U',', U'-', U'.', U'/', U'0',  U'1', U'2', U'3',  U'4', U'5', U'6', U'7', U'8',
  U'9', U':',  U';', U'<', U'=', U'>', U'?', U'¡', U'A', U'B', U'C',  U'D', U'E', U'F',  U'G', U'H', U'I', U'J', U'K',
  U'L', U'M',  U'N', U'O', U'P', U'Q', U'R', U'S', U'T', U'U', U'V',  U'W', U'X', U'Y',  U'Z', U'Ä', U'Ö', U'Ñ', U'Ü',
  U'§', U'¿',  U'a', U'b', U'c', U'd', U'e', U'f', U'g', U'h', U'i',  U'j', U'k', U'l',  U'm', U'n', U'o', U'p', U'q',
  U'r', U's',  U't', U'u', U'v', U'w', U'x', U'y', U'z', U'ä', U'ö',  U'ñ', U'ü', U'à',
};
constexpr std::array<char32_t, 10> extension = {U'^', U'{', U'}', U'\\', U'[', U'~', U']', U'|', U'€', U'\f'};

// Decodes one UTF-8 character; an invalid byte counts as a character of its own.
char32_t
next_code_point(std::string_view text, std::size_t& i)
{
  const auto c = static_cast<unsigned char>(text[i]);
  const int length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (i + static_cast<std::size_t>(length) > text.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t out = length == 1 ? c : c & (0x7F >> length);
  for (int k = 1; k < length; ++k) {
    out = (out << 6) | (static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]) & 0x3F);
  }
  i += static_cast<std::size_t>(length);
  return out;
}

} // namespace

SmsSize
sms_size(std::string_view utf8)
{
  SmsSize gsm;
  std::size_t utf16 = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = next_code_point(utf8, i);
    utf16 += c > 0xFFFF ? 2 : 1;
    if (c != 0x1B && std::find(basic.begin(), basic.end(), c) != basic.end()) {
      gsm.units += 1;
    } else if (std::find(extension.begin(), extension.end(), c) != extension.end()) {
      gsm.units += 2;
    } else {
      gsm.gsm7 = false;
    }
  }
  SmsSize out;
  out.gsm7 = gsm.gsm7;
  out.units = gsm.gsm7 ? gsm.units : utf16;
  const std::size_t single = out.gsm7 ? 160 : 70;
  const std::size_t part = out.gsm7 ? 153 : 67;
  out.segments = out.units == 0 ? 0 : out.units <= single ? 1 : (out.units + part - 1) / part;
  return out;
}

} // namespace cvmd
