#pragma once
// How an SMS text travels: in the GSM 03.38 alphabet (7 bits, 160 characters in one
// message, 153 per part when split) or else in UCS-2 (70, 67 per part).

#include <cstddef>
#include <string_view>

namespace cvmd {

struct SmsSize
{
  bool gsm7 = true;
  std::size_t units = 0;    // septets for GSM-7 (escaped characters count two), UTF-16 units for UCS-2
  std::size_t segments = 0; // messages the phone receives and the gateway bills
};

SmsSize sms_size(std::string_view utf8);

} // namespace cvmd
