#pragma once
// The connector for dry runs: each message becomes one file in a folder, named by its
// key, so a message delivered twice is one file (the second delivery finds it and stops).
// Email is written as the exact Internet message an SMTP connector would send (.eml).

#include "connectors/connector.hpp"
#include "connectors/mime.hpp"

namespace cvmd {

class FileConnector : public Connector
{
public:
  FileConnector(std::string directory, std::string from)
    : m_directory(std::move(directory)), m_from(parse_mailbox(from))
  {
  }
  Delivery deliver(const RenderedMessage& message) override;

  // The file a key is written to: the key with every character outside [A-Za-z0-9._-]
  // replaced, so that no key can leave the folder.
  std::string path_for(const RenderedMessage& message) const;

private:
  std::string m_directory;
  Mailbox m_from;
};

} // namespace cvmd
