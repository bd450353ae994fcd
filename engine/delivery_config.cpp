#include "engine/delivery_config.hpp"

#include "connectors/factory.hpp"
#include "connectors/mime.hpp"
#include "engine/policies.hpp"

#include <boost/url/parse.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace cvmd {

namespace {

std::string
where(const std::string& file, const YAML::Mark& mark)
{
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string
error_at(const std::string& file, const YAML::Node& node, const std::string& message)
{
  return where(file, node.Mark()) + ": error: " + message;
}

// A scalar with ${ENV} references resolved; `error` is set when it is not text or a
// variable is missing.
std::string
text_value(const std::string& file, const std::string& key, const YAML::Node& node, std::string& error)
{
  if (!node.IsScalar()) {
    error = error_at(file, node, "'" + key + "' must be text");
    return {};
  }
  auto expanded = expand_environment(node.Scalar());
  if (!expanded) {
    error = error_at(file, node, key + ": " + expanded.error());
    return {};
  }
  return *expanded;
}

Result<std::int64_t>
seconds_value(const YAML::Node& node)
{
  if (node.IsScalar()) {
    try {
      const auto seconds = node.as<double>();
      if (std::isfinite(seconds) && seconds > 0 && seconds <= 86400) {
        return static_cast<std::int64_t>(std::ceil(seconds));
      }
    } catch (const YAML::Exception&) {
      return parse_duration(node.Scalar());
    }
  }
  return Result<std::int64_t>::failure("must be a duration like '30 seconds' or '5 minutes'");
}

// A number of messages per second, or "N per DURATION" ("600 per minute").
Result<double>
rate_value(const YAML::Node& node)
{
  const auto fail =
    Result<double>::failure("must be messages per second (a number) or 'N per DURATION', e.g. 600 per minute");
  if (!node.IsScalar()) {
    return fail;
  }
  const auto text = node.Scalar();
  const auto per = text.find(" per ");
  try {
    if (per == std::string::npos) {
      const auto rate = node.as<double>();
      return std::isfinite(rate) && rate >= 0 ? Result<double>(rate) : fail;
    }
    const auto count = std::stod(text.substr(0, per));
    auto unit = text.substr(per + 5);
    auto seconds = parse_duration(std::isdigit(static_cast<unsigned char>(unit.front())) ? unit : "1 " + unit);
    if (!seconds || !std::isfinite(count) || count < 0) {
      return fail;
    }
    return count / static_cast<double>(*seconds);
  } catch (const std::exception&) {
    return fail;
  }
}

// Credentials in a URL would be printed wherever the URL is: they belong in username and
// password, which come from the environment.
std::string
check_url(const std::string& type, const std::string& url)
{
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return "not a URL (scheme://host[:port][/path])"; // not echoed: it may hold a secret
  }
  const auto scheme = std::string(parsed->scheme());
  const bool mail = type == "smtp";
  if (mail ? scheme != "smtp" && scheme != "smtps" : scheme != "http" && scheme != "https") {
    return mail ? "an SMTP connector's url starts with smtp:// or smtps://"
                : "the url must start with http:// or https://";
  }
  if (parsed->host().empty()) {
    return "the url has no host";
  }
  if (parsed->has_userinfo()) {
    return "put credentials in username and password (as ${ENV} references), not in the url";
  }
  return {};
}

std::string
read_pairs(const std::string& file, const std::string& key, const YAML::Node& node,
           std::vector<std::pair<std::string, std::string>>& out)
{
  if (!node.IsMap()) {
    return error_at(file, node, "'" + key + "' must be a mapping of names to text");
  }
  for (const auto& entry : node) {
    std::string error;
    auto value = text_value(file, key + "." + entry.first.Scalar(), entry.second, error);
    if (!error.empty()) {
      return error;
    }
    out.emplace_back(entry.first.Scalar(), std::move(value));
  }
  return {};
}

std::string
read_connector(const std::string& file, const std::string& base, const std::string& name, const YAML::Node& node,
               ConnectorConfig& c)
{
  const auto key = "connectors." + name;
  if (!node.IsMap()) {
    return error_at(file, node, "'" + key + "' must be a mapping with at least a type");
  }
  if (!node["type"]) {
    return error_at(file, node, key + " needs a type: smtp, kannel, http, webhook or file");
  }
  c.name = name;
  for (const auto& entry : node) {
    const auto field = entry.first.Scalar();
    const auto& value = entry.second;
    const auto at = key + "." + field;
    std::string error;
    if (field == "type") {
      c.type = text_value(file, at, value, error);
      if (error.empty() && std::find_if(std::begin(connector_types), std::end(connector_types),
                                        [&](const char* t) { return c.type == t; }) == std::end(connector_types)) {
        error = error_at(file, value, "unknown connector type '" + c.type + "': smtp, kannel, http, webhook or file");
      }
    } else if (field == "url") {
      c.url = text_value(file, at, value, error);
    } else if (field == "username") {
      c.username = text_value(file, at, value, error);
    } else if (field == "password") {
      c.password = text_value(file, at, value, error);
    } else if (field == "from") {
      c.from = text_value(file, at, value, error);
    } else if (field == "tls") {
      c.tls = text_value(file, at, value, error);
      if (error.empty() && c.tls != "auto" && c.tls != "starttls" && c.tls != "none") {
        error = error_at(file, value, at + " must be auto (STARTTLS when offered), starttls (required) or none");
      }
    } else if (field == "ca_file") {
      c.ca_file = text_value(file, at, value, error);
    } else if (field == "directory") {
      c.directory = text_value(file, at, value, error);
      if (!c.directory.empty() && c.directory.front() != '/' && !base.empty()) {
        c.directory = base + "/" + c.directory;
      }
    } else if (field == "method") {
      c.method = text_value(file, at, value, error);
      if (error.empty() && c.method != "POST" && c.method != "PUT") {
        error = error_at(file, value, at + " must be POST or PUT");
      }
    } else if (field == "format") {
      c.format = text_value(file, at, value, error);
      if (error.empty() && c.format != "json" && c.format != "form") {
        error = error_at(file, value, at + " must be json or form");
      }
    } else if (field == "fields") {
      error = read_pairs(file, at, value, c.fields);
    } else if (field == "headers") {
      error = read_pairs(file, at, value, c.headers);
    } else if (field == "id_field") {
      c.id_field = text_value(file, at, value, error);
    } else if (field == "signing_secret") {
      c.signing_secret = text_value(file, at, value, error);
    } else if (field == "rate") {
      auto rate = rate_value(value);
      if (!rate) {
        error = error_at(file, value, at + " " + rate.error());
      } else {
        c.rate = *rate;
      }
    } else if (field == "concurrency" || field == "dlr_mask") {
      int n = 0;
      try {
        n = value.as<int>();
      } catch (const YAML::Exception&) {
      }
      const int high = field == "concurrency" ? 64 : 31;
      if (n < 1 || n > high) {
        error = error_at(file, value, at + " must be a whole number from 1 to " + std::to_string(high));
      } else {
        (field == "concurrency" ? c.concurrency : c.dlr_mask) = n;
      }
    } else if (field == "timeout") {
      auto seconds = seconds_value(value);
      if (!seconds) {
        error = error_at(file, value, at + " " + seconds.error());
      } else {
        c.timeout_ms = *seconds * 1000;
      }
    } else {
      error = error_at(file, entry.first, "unknown key '" + at + "'");
    }
    if (!error.empty()) {
      return error;
    }
  }
  const bool needs_url = c.type != "file";
  if (needs_url && c.url.empty()) {
    return error_at(file, node, key + " needs a url");
  }
  if (needs_url) {
    if (auto problem = check_url(c.type, c.url); !problem.empty()) {
      return error_at(file, node["url"], key + ".url: " + problem);
    }
  }
  if (c.type == "smtp" && parse_mailbox(c.from).address.empty()) {
    return error_at(file, node["from"] ? node["from"] : node,
                    key + " needs a from address, e.g. from: \"Shop <news@shop.example>\"");
  }
  if (c.type == "http" && c.fields.empty()) {
    return error_at(file, node, key + " needs fields: the request's body, e.g. {To: \"{{to}}\", Body: \"{{text}}\"}");
  }
  if (c.type == "file" && c.directory.empty()) {
    c.directory = base.empty() ? "outbox" : base + "/outbox";
  }
  return {};
}

} // namespace

Result<std::string>
expand_environment(const std::string& text)
{
  std::string out;
  std::size_t at = 0;
  while (true) {
    const auto open = text.find("${", at);
    if (open == std::string::npos) {
      out += text.substr(at);
      return out;
    }
    const auto close = text.find('}', open);
    if (close == std::string::npos) {
      return Result<std::string>::failure("'${' without its closing '}'");
    }
    const auto name = text.substr(open + 2, close - open - 2);
    const char* value = std::getenv(name.c_str());
    if (name.empty() || !value) {
      return Result<std::string>::failure("the environment variable '" + name + "' is not set");
    }
    out += text.substr(at, open - at) + value;
    at = close + 1;
  }
}

std::string
read_connectors(const std::string& file, const YAML::Node& node, std::vector<ConnectorConfig>& out,
                const std::string& base)
{
  if (!node.IsMap()) {
    return error_at(file, node,
                    "'connectors' must be a mapping of names (email, sms, webhook, or your own) to connectors");
  }
  for (const auto& entry : node) {
    ConnectorConfig c;
    if (auto error = read_connector(file, base, entry.first.Scalar(), entry.second, c); !error.empty()) {
      return error;
    }
    out.push_back(std::move(c));
  }
  return {};
}

std::string
read_server(const std::string& file, const YAML::Node& node, ServerConfig& out)
{
  if (!node.IsMap()) {
    return error_at(file, node, "'server' must be a mapping (listen, public_url, link_secret, api_tokens, dashboard_tokens)");
  }
  for (const auto& entry : node) {
    const auto field = entry.first.Scalar();
    const auto at = "server." + field;
    std::string error;
    if (field == "listen") {
      out.listen = text_value(file, at, entry.second, error);
    } else if (field == "public_url") {
      out.public_url = text_value(file, at, entry.second, error);
      if (error.empty()) {
        const auto parsed = boost::urls::parse_uri(out.public_url);
        if (!parsed || (parsed->scheme() != "https" && parsed->scheme() != "http") || parsed->host().empty() ||
            parsed->has_query() || parsed->has_fragment()) {
          error =
            error_at(file, entry.second, at + " must be an http(s) URL without query, e.g. https://shop.example/cvmd");
        }
        while (!out.public_url.empty() && out.public_url.back() == '/') {
          out.public_url.pop_back();
        }
      }
    } else if (field == "link_secret") {
      out.link_secret = text_value(file, at, entry.second, error);
      if (error.empty() && out.link_secret.size() < 16) {
        error = error_at(file, entry.second,
                         at + " must be at least 16 characters (use a long random value from the environment)");
      }
    } else if (field == "cycle_every") {
      auto every = entry.second.IsScalar() ? parse_duration(entry.second.Scalar())
                                           : Result<std::int64_t>::failure("must be a duration");
      if (!every) {
        error = error_at(file, entry.second, at + ": " + every.error());
      } else {
        out.cycle_every_seconds = *every;
      }
    } else if (field == "max_connections") {
      int n = 0;
      try {
        n = entry.second.as<int>();
      } catch (const YAML::Exception&) {
      }
      if (n < 1 || n > 100000) {
        error = error_at(file, entry.second, at + " must be a whole number from 1 to 100000");
      } else {
        out.max_connections = static_cast<std::size_t>(n);
      }
    } else if (field == "durability") {
      const auto value = text_value(file, at, entry.second, error);
      if (error.empty() && value != "process" && value != "power") {
        error = error_at(file, entry.second,
                         at + " must be 'process' (a 2xx survives the daemon's crash) or 'power' (also a power "
                              "loss: each commit synced to disk)");
      }
      out.sync_commits = value == "power";
    } else if (field == "api_tokens" || field == "dashboard_tokens") {
      auto& tokens = field == "api_tokens" ? out.api_tokens : out.dashboard_tokens;
      if (!entry.second.IsSequence()) {
        error = error_at(file, entry.second, at + " must be a list of tokens");
      }
      for (std::size_t i = 0; error.empty() && i < entry.second.size(); ++i) {
        tokens.push_back(text_value(file, at, entry.second[i], error));
      }
    } else {
      error = error_at(file, entry.first,
                       "unknown key '" + at +
                         "' (listen, public_url, link_secret, api_tokens, dashboard_tokens, cycle_every, max_connections, "
                         "durability)");
    }
    if (!error.empty()) {
      return error;
    }
  }
  return {};
}

std::string
read_delivery(const std::string& file, const YAML::Node& node, DeliveryConfig& out)
{
  if (!node.IsMap()) {
    return error_at(file, node, "'delivery' must be a mapping (max_attempts, backoff, longest_backoff, breaker)");
  }
  for (const auto& entry : node) {
    const auto field = entry.first.Scalar();
    const auto at = "delivery." + field;
    const auto& value = entry.second;
    if (field == "max_attempts" || field == "breaker_failures") {
      int n = 0;
      try {
        n = value.as<int>();
      } catch (const YAML::Exception&) {
      }
      if (n < 1 || n > 100) {
        return error_at(file, value, at + " must be a whole number from 1 to 100");
      }
      (field == "max_attempts" ? out.max_attempts : out.breaker.failures) = n;
    } else if (field == "backoff" || field == "longest_backoff" || field == "breaker_pause") {
      auto seconds =
        field == "breaker_pause" ? seconds_value(value) : parse_duration(value.IsScalar() ? value.Scalar() : "");
      if (!seconds) {
        return error_at(file, value, at + ": " + seconds.error());
      }
      if (field == "backoff") {
        out.backoff_seconds = *seconds;
      } else if (field == "longest_backoff") {
        out.longest_backoff_seconds = *seconds;
      } else {
        out.breaker.pause = std::chrono::seconds(*seconds);
        out.breaker.longest_pause = std::max(out.breaker.longest_pause, out.breaker.pause);
      }
    } else {
      return error_at(file, entry.first,
                      "unknown key '" + at +
                        "' (max_attempts, backoff, longest_backoff, breaker_failures, breaker_pause)");
    }
  }
  if (out.longest_backoff_seconds < out.backoff_seconds) {
    return error_at(file, node, "delivery.longest_backoff must not be shorter than delivery.backoff");
  }
  return {};
}

} // namespace cvmd
