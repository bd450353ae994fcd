#include "engine/access_tokens.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/url/parse.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace cvmd {

std::string
presented_token(const HttpRequestView& request, bool from_query)
{
  const auto header = request.headers.find("authorization");
  if (header == request.headers.end()) {
    if (!from_query) {
      return {};
    }
    const auto target = boost::urls::parse_origin_form(request.target);
    if (!target) {
      return {};
    }
    const auto params = target->params();
    const auto found = params.find("token");
    return found == params.end() ? std::string() : std::string((*found).value);
  }
  const auto& value = header->second;
  const auto scheme = value.substr(0, value.find(' '));
  if (scheme.size() >= value.size()) {
    return {};
  }
  if (boost::algorithm::iequals(scheme, "Bearer")) {
    return value.substr(scheme.size() + 1);
  }
  if (boost::algorithm::iequals(scheme, "Basic")) {
    const auto encoded = value.substr(scheme.size() + 1);
    std::string decoded(encoded.size(), '\0');
    const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                      reinterpret_cast<const unsigned char*>(encoded.data()), static_cast<int>(encoded.size()));
    if (n < 0) {
      return {};
    }
    decoded.resize(static_cast<std::size_t>(n));
    decoded.erase(decoded.find_last_not_of('\0') + 1);
    return decoded.substr(0, decoded.find(':'));
  }
  return {};
}

bool
token_accepted(const std::vector<std::string>& tokens, const std::string& given)
{
  bool match = false;
  for (const auto& token : tokens) {
    // Constant time for equal lengths; every token is compared.
    match |=
      !token.empty() && token.size() == given.size() && CRYPTO_memcmp(token.data(), given.data(), token.size()) == 0;
  }
  return match;
}

} // namespace cvmd
