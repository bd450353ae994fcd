#pragma once
// Message templates: one YAML file per template (channel, subject, text, html, body) with
// Mustache bodies. Loading checks the YAML, the required fields for the channel, the
// Mustache syntax and that every variable is something a customer or message provides.

#include "diagnostics.hpp"
#include "source.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cvmd::dsl {

struct TemplateVariable
{
  std::string name; // as written
  std::size_t offset = 0; // in the template file
};

struct MessageTemplate
{
  std::string name; // file name without extension, lower-case
  std::string path;
  std::string channel; // email | sms | webhook
  std::map<std::string, std::string> fields; // subject, text, html, body, ...
  std::vector<TemplateVariable> variables;
};

class TemplateCatalog
{
public:
  // Loads every *.yaml / *.yml in `directory`; problems go to `diagnostics`.
  // A template with errors is still listed (so that sends are not reported twice) but
  // marked broken.
  void load_directory(const std::string& directory, Diagnostics& diagnostics);
  // Loads one template from text (tests, and the directory loader).
  void load(const std::string& path, std::string text, Diagnostics& diagnostics);

  const MessageTemplate* find(const std::string& lower_name) const;
  std::vector<std::string> names() const;
  bool loaded() const { return m_loaded; }
  const std::string& directory() const { return m_directory; }

private:
  std::map<std::string, MessageTemplate> m_templates;
  std::vector<std::unique_ptr<SourceFile>> m_sources;
  std::string m_directory;
  bool m_loaded = false;
};

// Names in {{name}}, {{{name}}}, {{&name}}, {{#name}}, {{^name}} tags, with offsets
// relative to `text`.
std::vector<TemplateVariable> mustache_variables(const std::string& text);

// The names printed outside every {{#section}} and {{^section}}: a message whose customer
// has no value for one of them would have a gap, so it is refused instead.
std::vector<std::string> unguarded_variables(const std::string& text);

} // namespace cvmd::dsl
