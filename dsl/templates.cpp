#include "templates.hpp"

#include "catalogue.hpp"
#include "keywords.hpp"
#include "sms_text.hpp"
#include "suggest.hpp"

#include <kainjow/mustache.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>

namespace cvmd::dsl {

namespace fs = std::filesystem;

namespace {

// Each {{tag}}, {{{tag}}} and {{&tag}}: its sigil ('\0' for a plain name; '#', '^', '/',
// '&', '!', '>'), its trimmed name and where the name starts. Stops at a delimiter change
// ({{=...=}}): what follows is not {{ }} any more.
void
scan_tags(const std::string& text, const std::function<void(char, const std::string&, std::size_t)>& visit)
{
  std::size_t at = 0;
  while ((at = text.find("{{", at)) != std::string::npos) {
    std::size_t start = at + 2;
    std::string closing = "}}";
    if (start < text.size() && text[start] == '{') {
      ++start;
      closing = "}}}";
    }
    const auto end = text.find(closing, start);
    if (end == std::string::npos) {
      return;
    }
    const auto tag = text.substr(start, end - start);
    at = end + closing.size();
    if (tag.empty()) {
      continue;
    }
    const char sigil = std::string_view("#^/&!>=").find(tag.front()) != std::string_view::npos ? tag.front() : '\0';
    if (sigil == '=') {
      return;
    }
    const auto from = sigil ? 1 : 0;
    const auto first = tag.find_first_not_of(" \t", from);
    if (first == std::string::npos) {
      continue;
    }
    const auto last = tag.find_last_not_of(" \t");
    visit(sigil, tag.substr(first, last - first + 1), start + first);
  }
}

} // namespace

std::vector<TemplateVariable>
mustache_variables(const std::string& text)
{
  std::vector<TemplateVariable> out;
  scan_tags(text, [&](char sigil, const std::string& name, std::size_t offset) {
    if ((sigil == '\0' || sigil == '#' || sigil == '^' || sigil == '&') && name != ".") {
      out.push_back({name, offset});
    }
  });
  return out;
}

std::vector<std::string>
unguarded_variables(const std::string& text)
{
  std::vector<std::string> out;
  int depth = 0;
  scan_tags(text, [&](char sigil, const std::string& name, std::size_t) {
    if (sigil == '#' || sigil == '^') {
      ++depth;
    } else if (sigil == '/') {
      depth = std::max(0, depth - 1);
    } else if ((sigil == '\0' || sigil == '&') && depth == 0 && name != ".") {
      out.push_back(name);
    }
  });
  return out;
}

namespace {

const std::vector<std::string> known_keys = {"channel", "subject", "text", "html", "body", "description",
                                             "preheader", "content_type"};
const std::vector<std::string> channels = {"email", "sms", "webhook"};

std::vector<std::string>
variable_candidates()
{
  std::vector<std::string> out;
  for (const auto& a : attributes()) {
    out.emplace_back(a.name);
  }
  for (const auto& v : message_variables()) {
    out.emplace_back(v.name);
  }
  return out;
}

bool
variable_known(const std::string& lower_name)
{
  if (find_attribute(lower_name) || is_profile_reference(lower_name)) {
    return true;
  }
  const auto& vars = message_variables();
  return std::any_of(vars.begin(), vars.end(), [&](const auto& v) { return v.name == lower_name; });
}

// The text with each variable replaced by a typical value: names about ten characters,
// numbers six, links about a hundred (the signed link's length).
std::string
typical_sms(const std::string& text)
{
  std::string out;
  std::size_t at = 0;
  while (true) {
    const auto open = text.find("{{", at);
    if (open == std::string::npos) {
      return out + text.substr(at);
    }
    out += text.substr(at, open - at);
    const auto close = text.find("}}", open);
    if (close == std::string::npos) {
      return out + text.substr(open);
    }
    auto tag = to_lower(text.substr(open + 2, close - open - 2));
    at = close + 2 + (at < text.size() && close + 2 < text.size() && text[close + 2] == '}' ? 1 : 0);
    tag.erase(0, tag.find_first_not_of("{&# \t"));
    if (tag.empty() || tag[0] == '/' || tag[0] == '^' || tag[0] == '!') {
      continue;
    }
    const auto attribute = find_attribute(tag);
    const std::size_t width = tag.find("url") != std::string::npos                                   ? 100
                              : attribute && attributes()[*attribute].type == ValueType::number ? 6
                                                                                                : 10;
    out.append(width, 'x');
  }
}

void
warn_sms_length(const SourceFile& source, std::size_t offset, const std::string& text, Diagnostics& diagnostics)
{
  const auto literal = sms_size(typical_sms(text));
  if (literal.segments <= 1) {
    return;
  }
  diagnostics.report(source, offset, offset, Severity::warning,
                     "this SMS needs " + std::to_string(literal.segments) + " messages with typical values (" +
                       std::to_string(literal.units) + (literal.gsm7 ? " GSM-7 characters; 160 fit in one)"
                                                                      : " UCS-2 characters, because of a character "
                                                                        "outside GSM-7; 70 fit in one)") +
                       ": each part is billed; shorten it if that is not intended");
}

} // namespace

void
TemplateCatalog::load_directory(const std::string& directory, Diagnostics& diagnostics)
{
  m_directory = directory;
  m_loaded = true;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const auto ext = it->path().extension();
    std::error_code file_ec;
    if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(file_ec)) {
      files.push_back(it->path());
    }
  }
  if (ec) {
    diagnostics.report_file(directory, Severity::error, "cannot read the templates folder: " + ec.message());
    return;
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto text = read_text_file(file.string());
    if (!text) {
      diagnostics.report_file(file.string(), Severity::error, "cannot read the template file");
      // Listed anyway, so that its sends are not also reported as unknown templates.
      MessageTemplate unreadable;
      unreadable.name = to_lower(file.stem().string());
      unreadable.path = file.string();
      m_templates.emplace(unreadable.name, std::move(unreadable));
      continue;
    }
    load(file.string(), std::move(*text), diagnostics);
  }
}

void
TemplateCatalog::load(const std::string& path, std::string text, Diagnostics& diagnostics)
{
  m_loaded = true;
  m_sources.push_back(std::make_unique<SourceFile>(path, std::move(text)));
  const SourceFile& source = *m_sources.back();
  MessageTemplate tmpl;
  tmpl.path = path;
  tmpl.name = to_lower(fs::path(path).stem().string());
  // yaml-cpp reads the text after any byte order mark, so its positions are shifted.
  const auto mark_offset = [&](const YAML::Mark& mark) {
    return (mark.pos < 0 ? 0 : static_cast<std::size_t>(mark.pos)) + source.content_start();
  };
  auto report = [&](std::size_t offset, std::string message) {
    diagnostics.report(source, offset, offset, Severity::error, std::move(message));
  };

  if (const auto bad = find_invalid_utf8(source.text()); bad != std::string::npos) {
    report(bad, "invalid UTF-8: templates must be saved as UTF-8");
    m_templates[tmpl.name] = std::move(tmpl);
    return;
  }

  YAML::Node root;
  try {
    root = YAML::Load(source.text().substr(source.content_start()));
  } catch (const YAML::Exception& e) {
    report(mark_offset(e.mark), "not valid YAML: " + e.msg);
    m_templates[tmpl.name] = std::move(tmpl);
    return;
  }
  if (!root.IsMap()) {
    report(0, "a template must be a YAML mapping with at least 'channel' and a body ('text', 'html' or 'body')");
    m_templates[tmpl.name] = std::move(tmpl);
    return;
  }

  if (const auto it = m_templates.find(tmpl.name); it != m_templates.end()) {
    report(0, "template '" + tmpl.name + "' is also defined in " + it->second.path + "; keep one");
  }
  std::vector<std::string> seen_keys;
  for (const auto& entry : root) {
    const auto key = entry.first.Scalar();
    if (std::find(known_keys.begin(), known_keys.end(), key) == known_keys.end()) {
      report(mark_offset(entry.first.Mark()), "unknown template key '" + key + "'" + did_you_mean(key, known_keys));
      continue;
    }
    if (std::find(seen_keys.begin(), seen_keys.end(), key) != seen_keys.end()) {
      report(mark_offset(entry.first.Mark()), "'" + key + "' is given twice; keep one");
      continue;
    }
    seen_keys.push_back(key);
    if (!entry.second.IsScalar()) {
      report(mark_offset(entry.second.Mark()), "'" + key + "' must be text");
      continue;
    }
    tmpl.fields[key] = entry.second.Scalar();
    if (key == "channel") {
      tmpl.channel = to_lower(entry.second.Scalar());
      if (std::find(channels.begin(), channels.end(), tmpl.channel) == channels.end()) {
        report(mark_offset(entry.second.Mark()),
               "unknown channel '" + entry.second.Scalar() + "': use email, sms or webhook" +
                 did_you_mean(tmpl.channel, channels));
        tmpl.channel.clear();
      }
      continue;
    }

    const auto& value = tmpl.fields[key];
    kainjow::mustache::mustache compiled(value);
    if (!compiled.is_valid()) {
      report(mark_offset(entry.second.Mark()), "'" + key + "' is not a valid Mustache template: " +
                                                 compiled.error_message());
      continue;
    }
    // Find each variable in the file itself so that the caret lands on it.
    const auto value_offset = mark_offset(entry.second.Mark());
    for (auto variable : mustache_variables(value)) {
      // The tag's own text, from the value on: a shorter name inside a longer one
      // (`name` in `first_name`) must not catch the caret.
      variable.offset = value_offset;
      const auto& file_text = source.text();
      const auto opens_tag = [&](std::size_t at) {
        auto k = at;
        const auto skip_blanks = [&] {
          while (k > 0 && (file_text[k - 1] == ' ' || file_text[k - 1] == '\t')) {
            --k;
          }
        };
        skip_blanks();
        if (k > 0 && (file_text[k - 1] == '#' || file_text[k - 1] == '^' || file_text[k - 1] == '&')) {
          --k;
          skip_blanks();
        }
        return k >= 2 && file_text.compare(k - 2, 2, "{{") == 0;
      };
      for (auto at = file_text.find(variable.name, value_offset); at != std::string::npos;
           at = file_text.find(variable.name, at + 1)) {
        const auto after = at + variable.name.size();
        if (opens_tag(at) && after < file_text.size() && (file_text[after] == '}' || file_text[after] == ' ' || file_text[after] == '\t')) {
          variable.offset = at;
          break;
        }
      }
      tmpl.variables.push_back(variable);
    }
  }

  if (!root["channel"]) {
    report(0, "missing 'channel': add `channel: email` (or sms, webhook)");
  } else if (tmpl.channel == "email") {
    if (!tmpl.fields.count("subject")) {
      report(0, "an email template needs a 'subject'");
    }
    if (!tmpl.fields.count("text") && !tmpl.fields.count("html")) {
      report(0, "an email template needs a 'text' or an 'html' body");
    }
  } else if (tmpl.channel == "sms") {
    if (!tmpl.fields.count("text")) {
      report(0, "an SMS template needs a 'text'");
    } else {
      warn_sms_length(source, mark_offset(root["text"].Mark()), tmpl.fields["text"], diagnostics);
    }
    for (const auto* extra : {"subject", "html"}) {
      if (tmpl.fields.count(extra)) {
        report(mark_offset(root[extra].Mark()), std::string("an SMS has no '") + extra + "'; remove it");
      }
    }
  } else if (tmpl.channel == "webhook") {
    if (!tmpl.fields.count("body")) {
      report(0, "a webhook template needs a 'body'");
    }
  }

  const auto candidates = variable_candidates();
  for (const auto& variable : tmpl.variables) {
    const auto lower = to_lower(variable.name);
    if (!variable_known(lower)) {
      diagnostics.report(source, variable.offset, variable.offset + variable.name.size(), Severity::error,
                         "no customer attribute or message variable provides '" + variable.name + "'" +
                           did_you_mean(lower, candidates));
    } else if (lower != variable.name && !is_profile_reference(lower)) {
      // Mustache looks names up exactly: {{First_Name}} would print nothing.
      diagnostics.report(source, variable.offset, variable.offset + variable.name.size(), Severity::error,
                         "write '" + lower + "' in lower case: template variables are matched exactly");
    }
  }
  m_templates[tmpl.name] = std::move(tmpl);
}

const MessageTemplate*
TemplateCatalog::find(const std::string& lower_name) const
{
  auto it = m_templates.find(lower_name);
  return it == m_templates.end() ? nullptr : &it->second;
}

std::vector<std::string>
TemplateCatalog::names() const
{
  std::vector<std::string> out;
  for (const auto& [name, tmpl] : m_templates) {
    out.push_back(name);
  }
  return out;
}

} // namespace cvmd::dsl
