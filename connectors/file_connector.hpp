#pragma once
// The connector for dry runs: each message becomes one file in a folder, named by its
// key, so a message delivered twice is one file (the second delivery finds it and stops).

#include "connectors/connector.hpp"

namespace cvmd {

class FileConnector : public Connector
{
public:
  explicit FileConnector(std::string directory) : m_directory(std::move(directory)) {}
  Result<std::string> deliver(const RenderedMessage& message) override;

  // The file a key is written to: the key with every character outside [A-Za-z0-9._-]
  // replaced, so that no key can leave the folder.
  std::string path_for(const std::string& key) const;

private:
  std::string m_directory;
};

} // namespace cvmd
