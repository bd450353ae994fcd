#pragma once
// One entry under `connectors:` in cvmd.yaml, with `${ENV}` references already resolved.
// The engine reads and checks the YAML (engine/config); connectors only read this.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cvmd {

struct ConnectorConfig
{
  std::string name; // the key under connectors:; `email`, `sms`, `webhook` are the channels' defaults
  std::string type; // smtp, kannel, http, webhook, file
  std::string url;
  std::string username;
  std::string password; // never printed
  std::string from;     // email: "Shop <news@shop.example>"; SMS: the sender id
  double rate = 0;      // messages per second, 0 = no limit
  int concurrency = 1;  // connections at once
  std::int64_t timeout_ms = 30000;
  std::string tls = "auto"; // smtp: auto (STARTTLS when offered), starttls (required), none
  std::string ca_file;      // extra CA bundle for TLS (a private relay)
  std::string directory;    // file: where the messages go
  // http and webhook: the request
  std::string method = "POST";
  std::string format = "json";                              // json or form
  std::vector<std::pair<std::string, std::string>> fields;  // name -> Mustache over the message
  std::vector<std::pair<std::string, std::string>> headers; // name -> value
  std::string id_field;                                     // the response's JSON field holding the provider's id
  std::string signing_secret;                               // webhook: HMAC-SHA256 of the body in X-Cvmd-Signature
  // kannel
  int dlr_mask = 31; // delivered, undelivered, buffered, SMSC accepted, SMSC rejected
};

} // namespace cvmd
