#include "connectors/factory.hpp"

#include "connectors/file_connector.hpp"
#include "connectors/http_connector.hpp"
#include "connectors/kannel_connector.hpp"
#include "connectors/smtp_connector.hpp"

#include <stdexcept>

namespace cvmd {

const char*
to_string(DeliveryStatus status)
{
  switch (status) {
  case DeliveryStatus::delivered:
    return "delivered";
  case DeliveryStatus::retry:
    return "retry";
  case DeliveryStatus::failed:
    return "failed";
  }
  return "?";
}

std::unique_ptr<Connector>
make_connector(const ConnectorConfig& config)
{
  if (config.type == "smtp") {
    return std::make_unique<SmtpConnector>(config);
  }
  if (config.type == "kannel") {
    return std::make_unique<KannelConnector>(config);
  }
  if (config.type == "http" || config.type == "webhook") {
    return std::make_unique<HttpConnector>(config);
  }
  if (config.type == "file") {
    return std::make_unique<FileConnector>(config.directory, config.from);
  }
  // The configuration is checked when it is read; reaching this is a programming error.
  throw std::logic_error("unknown connector type '" + config.type + "'");
}

} // namespace cvmd
