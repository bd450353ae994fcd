#include "connectors/http_request.hpp"

namespace cvmd {

namespace {

std::size_t
collect(char* data, std::size_t size, std::size_t count, void* user)
{
  auto& body = *static_cast<std::string*>(user);
  constexpr std::size_t keep = 64 * 1024; // an answer is read for its status and id, not stored whole
  const auto n = size * count;
  if (body.size() < keep) {
    body.append(data, std::min(n, keep - body.size()));
  }
  return n;
}

// The first line of a body, short, for a reason in the log.
std::string
excerpt(const std::string& body)
{
  auto line = body.substr(0, body.find_first_of("\r\n"));
  if (line.size() > 200) {
    line = line.substr(0, 200) + "...";
  }
  return line;
}

} // namespace

HttpAnswer
perform(CurlEasy& curl, const HttpRequest& request, long timeout_ms, const std::string& ca_file)
{
  CURL* h = curl.get();
  curl.set_common(timeout_ms, ca_file);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) {
    headers = curl_slist_append(headers, header.c_str());
  }
  headers = curl_slist_append(headers, "Expect:"); // no 100-continue round trip
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method == "POST" ? nullptr : request.method.c_str());
  }
  if (!request.username.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, request.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, request.password.c_str());
  }
  HttpAnswer answer;
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer.body);
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  answer.code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answer.status);
  if (answer.code != CURLE_OK) {
    answer.error = describe(answer.code, error);
  }
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, nullptr);
  curl_slist_free_all(headers);
  return answer;
}

Delivery
classify(const HttpAnswer& answer, std::string provider_id)
{
  if (answer.code != CURLE_OK) {
    return transient(answer.code) ? Delivery::retry(answer.error) : Delivery::failed(answer.error);
  }
  const auto said = "HTTP " + std::to_string(answer.status) + (answer.body.empty() ? "" : ": " + excerpt(answer.body));
  if (answer.status >= 200 && answer.status < 300) {
    return Delivery::delivered(std::move(provider_id), said);
  }
  // 401 and 403 are a gateway refusing our credentials: every message would meet them, and
  // the operator can fix them, so messages wait (and the breaker pauses the connector).
  if (answer.status == 401 || answer.status == 403 || answer.status == 408 || answer.status == 425 ||
      answer.status == 429 || answer.status >= 500) {
    return Delivery::retry(said);
  }
  return Delivery::failed(said);
}

std::string
url_encode(std::string_view text)
{
  // Since 7.82 libcurl escapes without a handle.
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  std::string out = escaped ? escaped : "";
  curl_free(escaped);
  return out;
}

} // namespace cvmd
