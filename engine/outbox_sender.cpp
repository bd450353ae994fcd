#include "engine/outbox_sender.hpp"

#include "connectors/factory.hpp"
#include "engine/render.hpp"
#include "engine/values.hpp"

#include <algorithm>
#include <filesystem>

namespace cvmd {

std::map<std::string, std::string>
broken_templates(const dsl::Diagnostics& diagnostics)
{
  std::map<std::string, std::string> out;
  for (const auto& d : diagnostics.all()) {
    if (d.severity != dsl::Severity::error) {
      continue;
    }
    auto name = std::filesystem::path(d.file).stem().string();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.emplace(name, d.file + (d.line > 0 ? ":" + std::to_string(d.line) + ":" + std::to_string(d.column) : "") +
                        ": " + d.message);
  }
  return out;
}

OutboxSender::OutboxSender(const Config& config, std::string dry_run_directory)
  : m_config(config), m_random(std::random_device{}())
{
  if (config.connectors.empty()) {
    ConnectorConfig file;
    file.name = "file";
    file.type = "file";
    file.directory = std::move(dry_run_directory);
    file.from = "cvmd <cvmd@localhost>";
    m_implicit.push_back(std::move(file));
  }
  if (!config.server.public_url.empty() && !config.server.link_secret.empty()) {
    m_signer.emplace(config.server.public_url, config.server.link_secret);
  }
}

OutboxSender::~OutboxSender() = default;

const ConnectorConfig*
OutboxSender::route(const std::string& channel, const std::string& name, std::string& why) const
{
  if (!m_implicit.empty() && name.empty()) {
    return &m_implicit.front();
  }
  const auto wanted = name.empty() ? channel : name;
  if (const auto* c = m_config.find_connector(wanted)) {
    return c;
  }
  why = name.empty()
          ? "no connector for the " + channel + " channel: add connectors." + channel + " to the configuration"
          : "no connector named '" + name + "' in the configuration";
  return nullptr;
}

Dispatcher&
OutboxSender::dispatcher(const ConnectorConfig& connector)
{
  auto& slot = m_dispatchers[connector.name];
  if (!slot) {
    slot = std::make_unique<Dispatcher>(connector, make_connector, m_config.delivery.breaker);
  }
  return *slot;
}

std::int64_t
OutboxSender::next_attempt(int attempts, std::int64_t now)
{
  // Exponential backoff with "equal jitter": half the delay fixed, half random, so that
  // messages failed together do not all come back at the same second.
  const auto& d = m_config.delivery;
  auto delay = d.backoff_seconds;
  for (int i = 1; i < attempts && delay < d.longest_backoff_seconds; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, d.longest_backoff_seconds);
  const auto half = delay / 2;
  std::uniform_int_distribution<std::int64_t> jitter(0, std::max<std::int64_t>(0, delay - half));
  return now + half + jitter(m_random);
}

namespace {

std::string
consent_gone(const Store& store, const CustomerState& state, std::size_t customer, const OutboxMessage& m)
{
  static const auto email_consent = static_cast<dsl::AttrId>(*dsl::find_attribute("email_consent"));
  static const auto sms_consent = static_cast<dsl::AttrId>(*dsl::find_attribute("sms_consent"));
  if ((m.channel == "email" && !state.flag(email_consent, customer)) ||
      (m.channel == "sms" && !state.flag(sms_consent, customer))) {
    return "not sent: the customer has no " + m.channel + " consent any more";
  }
  // The state was read at the cycle's start; the store may know better by now (an identify
  // through the daemon while this cycle ran).
  if (const auto stored = store.customer(m.customer_id);
      stored && ((m.channel == "email" && !stored->email_consent) || (m.channel == "sms" && !stored->sms_consent))) {
    return "not sent: the customer has no " + m.channel + " consent any more";
  }
  if (m.channel != "webhook" && store.unsubscribed(m.customer_id, m.channel)) {
    return "not sent: the customer unsubscribed from " + m.channel + " after it was planned";
  }
  return {};
}

} // namespace

SendSummary
OutboxSender::send_due(Store& store, const CustomerState& state, const dsl::TemplateCatalog& templates,
                       std::int64_t now, std::ostream& log)
{
  SendSummary summary;
  const auto record = [&](const OutboxMessage& m, const std::string& connector, const Delivery& delivery,
                          bool attempted) {
    DeliveryRecord r;
    r.key = m.key;
    r.at = now;
    r.attempted = attempted;
    r.connector = connector;
    r.provider_id = delivery.provider_id;
    r.detail = delivery.reason;
    r.next_attempt_at = now;
    const int attempts = m.attempts + (attempted ? 1 : 0);
    switch (delivery.status) {
    case DeliveryStatus::delivered:
      r.state = "sent";
      ++summary.sent;
      break;
    case DeliveryStatus::failed:
      r.state = attempted || !delivery.local ? "failed" : "discarded";
      ++summary.failed;
      log << "cvmd: " << m.key << ": not sent, for good: " << delivery.reason << "\n";
      break;
    case DeliveryStatus::retry:
      if (attempted && attempts >= m_config.delivery.max_attempts) {
        r.state = "dead";
        ++summary.dead;
        log << "cvmd: " << m.key << ": dead-lettered after " << attempts << " attempts: " << delivery.reason << "\n";
      } else {
        r.state = "pending";
        // Held back (not tried): look again at the next cycle; tried: back off.
        r.next_attempt_at = attempted ? next_attempt(attempts, now) : now + 1;
        ++(attempted ? summary.retry : summary.held);
        log << "cvmd: " << m.key << ": " << (attempted ? "will retry at " + format_time(r.next_attempt_at) : "waiting")
            << ": " << delivery.reason << "\n";
      }
      break;
    }
    Store::Writer writer(store);
    writer.record_delivery(r);
    writer.commit();
  };

  // Rendered a slice at a time, right before it goes: a backlog of a million messages is
  // not a million rendered bodies in memory.
  constexpr std::size_t slice = 2000;
  const auto pending = store.pending_messages(now);
  for (std::size_t from = 0; from < pending.size(); from += slice) {
    std::map<std::string, std::pair<const ConnectorConfig*, std::vector<DispatchItem>>> batches;
    for (std::size_t i = from; i < std::min(pending.size(), from + slice); ++i) {
      const auto& m = pending[i];
      std::string why;
      const auto* connector = route(m.channel, {}, why);
      if (!connector) {
        record(m, "", Delivery::retry(why), false);
        continue;
      }
      if (auto broken = m_broken.find(m.template_name); broken != m_broken.end()) {
        record(m, connector->name, Delivery::retry("template '" + m.template_name + "' has errors: " + broken->second),
               false);
        continue;
      }
      const auto* t = templates.find(m.template_name);
      if (!t) {
        record(m, connector->name, Delivery::retry("template '" + m.template_name + "' is not in the templates folder"),
               false);
        continue;
      }
      const auto customer = state.index_of(m.customer_id);
      if (!customer) {
        record(m, connector->name, Delivery::failed("customer '" + m.customer_id + "' is not in the store any more"),
               true);
        continue;
      }
      if (auto gone = consent_gone(store, state, *customer, m); !gone.empty()) {
        // Planned with consent, withdrawn before it could go (a retry, a paused gateway).
        record(m, connector->name, Delivery::refused(gone), false);
        continue;
      }
      auto rendered = render_message(*t, state, *customer, m, signer());
      if (!rendered) {
        record(m, connector->name, Delivery::failed(rendered.error()), true);
        continue;
      }
      auto& batch = batches[connector->name];
      batch.first = connector;
      batch.second.push_back({i, std::move(*rendered)});
    }
    for (auto& [name, batch] : batches) {
      dispatcher(*batch.first).run(std::move(batch.second), [&](const DispatchResult& result) {
        record(pending[result.id], name, result.delivery, result.attempted);
      });
    }
  }
  return summary;
}

} // namespace cvmd
