#include "connectors/file_connector.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>

namespace cvmd {

std::string
FileConnector::path_for(const RenderedMessage& m) const
{
  std::string name;
  for (unsigned char c : m.key) {
    name += std::isalnum(c) || c == '.' || c == '_' || c == '-' ? static_cast<char>(c) : '_';
  }
  return (std::filesystem::path(m_directory) / (name + (m.channel == "email" ? ".eml" : ".txt"))).string();
}

Delivery
FileConnector::deliver(const RenderedMessage& m)
{
  std::error_code ec;
  std::filesystem::create_directories(m_directory, ec);
  if (ec) {
    return Delivery::retry(m_directory + ": cannot create the outbox folder: " + ec.message());
  }
  const auto path = path_for(m);
  if (std::filesystem::exists(path, ec)) {
    return Delivery::delivered(path, "already in " + path); // delivered before a crash, not marked
  }
  // A dry run refuses what a gateway would refuse, so it shows what would really go.
  if (m.channel == "email" && m.to.empty()) {
    return Delivery::refused("the customer has no email address");
  }
  if (m.channel == "email" && !valid_address(m.to)) {
    return Delivery::refused("'" + m.to + "' is not an email address");
  }
  if (m.channel == "sms" && m.to.empty()) {
    return Delivery::refused("the customer has no phone number");
  }
  std::string content;
  if (m.channel == "email") {
    Mailbox from = m_from.address.empty() ? Mailbox{"", "cvmd@localhost"} : m_from;
    const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    content = build_email(m, from, now);
  } else {
    content = "X-Cvmd-Key: " + m.key + "\nChannel: " + m.channel + "\nTo: " + m.to + "\n";
    if (!m.status_url.empty()) {
      content += "Status-URL: " + m.status_url + "\n";
    }
    content += "\n" + m.text;
  }
  // Written beside and renamed into place, so a crash never leaves half a message.
  const auto partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      std::filesystem::remove(partial, ec);
      return Delivery::retry(partial + ": cannot write the message");
    }
  }
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    return Delivery::retry(path + ": cannot move the message into place: " + ec.message());
  }
  return Delivery::delivered(path, "written to " + path);
}

} // namespace cvmd
