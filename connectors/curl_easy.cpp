#include "connectors/curl_easy.hpp"

#include <mutex>
#include <stdexcept>

namespace cvmd {

namespace {

std::once_flag global_init;

} // namespace

CurlEasy::CurlEasy()
{
  // curl_global_init is not thread-safe; connector instances are made on several threads.
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  m_handle = curl_easy_init();
  if (!m_handle) {
    throw std::runtime_error("libcurl could not make a handle (out of memory)");
  }
}

CurlEasy::~CurlEasy()
{
  curl_easy_cleanup(m_handle);
}

void
CurlEasy::set_common(long timeout_ms, const std::string& ca_file)
{
  curl_easy_setopt(m_handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(m_handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(m_handle, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10000L));
  if (!ca_file.empty()) {
    curl_easy_setopt(m_handle, CURLOPT_CAINFO, ca_file.c_str());
  }
}

bool
transient(CURLcode code)
{
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_UPLOAD_FAILED:
  case CURLE_AGAIN:
  // TLS trouble (an expired or unknown certificate, a missing CA file) fails every message
  // alike until an operator fixes it: worth waiting for, not a reason to give messages up.
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_USE_SSL_FAILED:
    return true;
  default:
    return false;
  }
}

std::string
describe(CURLcode code, const char* error_buffer)
{
  std::string out = curl_easy_strerror(code);
  if (error_buffer && *error_buffer) {
    out += ": ";
    out += error_buffer;
  }
  return out;
}

} // namespace cvmd
