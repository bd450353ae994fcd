#pragma once
// A libcurl easy handle owned by one connector instance. Keeping it between messages keeps
// the connection open (SMTP and HTTP keep-alive), which is most of a gateway's cost.

#include "connectors/connector.hpp"

#include <curl/curl.h>

#include <string>

namespace cvmd {

class CurlEasy
{
public:
  CurlEasy();
  ~CurlEasy();
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;

  CURL* get() const { return m_handle; }
  // Settings shared by every transfer: timeouts, no signals (threads), TLS bundle.
  void set_common(long timeout_ms, const std::string& ca_file);

private:
  CURL* m_handle;
};

// A transfer that failed before the gateway could say yes or no: a refused connection, a
// timeout, a connection closed in the middle, an answer that is not the protocol.
bool transient(CURLcode code);

// What the failure was, for the log and `cvmd outbox`.
std::string describe(CURLcode code, const char* error_buffer);

} // namespace cvmd
