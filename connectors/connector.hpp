#pragma once
// The one interface of the ways out. A connector delivers a rendered message and knows
// nothing of scenarios; the caller keeps the outbox and calls it once per message key.
// One instance serves one thread: concurrency comes from several instances (see
// dispatcher.hpp), each keeping its own connection open between messages.

#include <string>

namespace cvmd {

struct RenderedMessage
{
  std::string key;             // idempotency key: travels with the message (header, parameter, file name)
  std::string channel;         // email, sms, webhook
  std::string to;              // email address, phone number, or empty for webhooks
  std::string to_name;         // display name for email (first and last name), may be empty
  std::string subject;         // email
  std::string text;            // email text part, SMS text, webhook body
  std::string html;            // email HTML part (escaped personalisation, tracked links)
  std::string unsubscribe_url; // signed one-click link, for List-Unsubscribe (email)
  std::string status_url;      // where the gateway reports delivery (Kannel's dlr-url), may be empty
};

enum class DeliveryStatus
{
  delivered, // the gateway accepted it
  retry,     // transient: try again later (4xx, 429/5xx, timeouts, refused connections)
  failed,    // permanent: trying again cannot help (5xx from SMTP, 4xx from HTTP, no address)
};

struct Delivery
{
  DeliveryStatus status = DeliveryStatus::failed;
  std::string provider_id; // the gateway's own id for the message, when it gives one
  std::string reason;      // what the gateway said, or what went wrong; never secrets
  bool local = false;      // decided before talking to the gateway: says nothing about it

  static Delivery delivered(std::string provider_id, std::string reason = {})
  {
    return {DeliveryStatus::delivered, std::move(provider_id), std::move(reason)};
  }
  static Delivery retry(std::string reason) { return {DeliveryStatus::retry, {}, std::move(reason)}; }
  static Delivery failed(std::string reason) { return {DeliveryStatus::failed, {}, std::move(reason)}; }
  // Refused without a word with the gateway (no address, not an address).
  static Delivery refused(std::string reason) { return {DeliveryStatus::failed, {}, std::move(reason), true}; }
};

const char* to_string(DeliveryStatus status);

class Connector
{
public:
  virtual ~Connector() = default;
  virtual Delivery deliver(const RenderedMessage& message) = 0;
};

} // namespace cvmd
