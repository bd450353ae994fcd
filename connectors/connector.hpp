#pragma once
// The one interface of the ways out. A connector delivers a rendered message and knows
// nothing of scenarios; the caller keeps the outbox and calls it once per message key.

#include "engine/result.hpp"

#include <string>

namespace cvmd {

struct RenderedMessage
{
  std::string key;     // idempotency key: a connector that can store it uses it to refuse repeats
  std::string channel; // email, sms, webhook
  std::string to;      // email address, phone number, or empty for webhooks
  std::string subject; // email
  std::string text;    // email text part, SMS text, webhook body
  std::string html;    // email HTML part (escaped personalisation)
};

class Connector
{
public:
  virtual ~Connector() = default;
  // A short description of what was done ("written to outbox/x.eml"), or why not.
  virtual Result<std::string> deliver(const RenderedMessage& message) = 0;
};

} // namespace cvmd
