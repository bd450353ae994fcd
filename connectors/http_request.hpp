#pragma once
// One HTTP request on a kept-alive libcurl handle, and what the answer means for a message:
// 2xx delivered, 408/425/429/5xx and network trouble retry later, other 4xx fail for good.

#include "connectors/connector.hpp"
#include "connectors/curl_easy.hpp"

#include <string>
#include <utility>
#include <vector>

namespace cvmd {

struct HttpRequest
{
  std::string method = "POST";
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  std::string body;
  std::string username; // basic auth when set
  std::string password;
};

struct HttpAnswer
{
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string error; // libcurl's words when the request did not complete
};

HttpAnswer perform(CurlEasy& curl, const HttpRequest& request, long timeout_ms, const std::string& ca_file);

// The meaning of an answer; `provider_id` is kept when it is delivered.
Delivery classify(const HttpAnswer& answer, std::string provider_id);

// application/x-www-form-urlencoded / query string encoding of one value.
std::string url_encode(std::string_view text);

} // namespace cvmd
