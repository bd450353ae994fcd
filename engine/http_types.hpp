#pragma once
// Requests and answers of the daemon's HTTP side as plain values: the handlers (tracking,
// health, later the event API) know nothing of Beast, which stays in http_server.cpp.

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cvmd {

struct HttpRequestView
{
  std::string method;                         // GET, POST, ...
  std::string target;                         // path and query, as sent
  std::map<std::string, std::string> headers; // names in lower case
  std::string body;
};

struct HttpReply
{
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpReply text(int status, std::string body)
  {
    return {status, "text/plain; charset=utf-8", std::move(body), {}};
  }
};

// A handler answers through `respond`, at once or later (the event API answers after a
// group commit); `respond` is called exactly once, on the server's thread.
using Respond = std::function<void(HttpReply)>;
// Runs `work` on the server's thread after the requests already read are handled.
using Defer = std::function<void(std::function<void()> work)>;

} // namespace cvmd
