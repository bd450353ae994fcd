#pragma once
// The connector a configuration entry names, by its `type`.

#include "connectors/connector.hpp"
#include "connectors/connector_config.hpp"

#include <memory>

namespace cvmd {

const char* const connector_types[] = {"smtp", "kannel", "http", "webhook", "file"};

std::unique_ptr<Connector> make_connector(const ConnectorConfig& config);

} // namespace cvmd
