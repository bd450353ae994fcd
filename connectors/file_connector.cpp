#include "connectors/file_connector.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace cvmd {

std::string
FileConnector::path_for(const std::string& key) const
{
  std::string name;
  for (unsigned char c : key) {
    name += std::isalnum(c) || c == '.' || c == '_' || c == '-' ? static_cast<char>(c) : '_';
  }
  return (std::filesystem::path(m_directory) / (name + ".txt")).string();
}

Result<std::string>
FileConnector::deliver(const RenderedMessage& m)
{
  std::error_code ec;
  std::filesystem::create_directories(m_directory, ec);
  if (ec) {
    return Result<std::string>::failure(m_directory + ": cannot create the outbox folder: " + ec.message());
  }
  const auto path = path_for(m.key);
  if (std::filesystem::exists(path, ec)) {
    return "already in " + path; // delivered before a crash, not marked: not written twice
  }
  // Written beside and renamed into place, so a crash never leaves half a message.
  const auto partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << "Message-Key: " << m.key << "\nChannel: " << m.channel << "\nTo: " << m.to << "\n";
    if (!m.subject.empty()) {
      out << "Subject: " << m.subject << "\n";
    }
    out << "\n" << m.text;
    if (!m.html.empty()) {
      out << "\n--- html ---\n" << m.html;
    }
    out.flush();
    if (!out) {
      std::filesystem::remove(partial, ec);
      return Result<std::string>::failure(partial + ": cannot write the message");
    }
  }
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    return Result<std::string>::failure(path + ": cannot move the message into place: " + ec.message());
  }
  return "written to " + path;
}

} // namespace cvmd
