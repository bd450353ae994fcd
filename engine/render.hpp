#pragma once
// Renders a message template for one customer with Mustache: customer attributes by name,
// `profile.NAME` fields and the message variables. Personalisation in the HTML part is
// HTML-escaped; subjects, text parts and SMS are plain text and are not. A variable that
// is empty for this customer outside a {{#section}} refuses the message: no gaps are sent.

#include "connectors/connector.hpp"
#include "dsl/templates.hpp"
#include "engine/customer_state.hpp"
#include "engine/links.hpp"
#include "engine/plan.hpp"

namespace cvmd {

// `links`: the signer for unsubscribe, tracking and delivery-report links; none when
// server.public_url is not configured (dry runs), and the links stay empty.
Result<RenderedMessage> render_message(const dsl::MessageTemplate& message_template, const CustomerState& state,
                                       std::size_t customer, const OutboxMessage& message, const LinkSigner* links);

} // namespace cvmd
