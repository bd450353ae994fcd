#pragma once
// Renders a message template for one customer with Mustache: customer attributes by name,
// `profile.NAME` fields and the message variables. Personalisation in the HTML part is
// HTML-escaped; subjects, text parts and SMS are plain text and are not.

#include "connectors/connector.hpp"
#include "dsl/templates.hpp"
#include "engine/customer_state.hpp"
#include "engine/plan.hpp"

namespace cvmd {

struct MessageLinks
{
  std::string unsubscribe_url; // empty until links are configured (server.public_url)
};

Result<RenderedMessage> render_message(const dsl::MessageTemplate& message_template, const CustomerState& state,
                                       std::size_t customer, const OutboxMessage& message, const MessageLinks& links);

} // namespace cvmd
