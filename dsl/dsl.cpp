#include "dsl.hpp"

#include "checker.hpp"
#include "compiler.hpp"
#include "parser.hpp"
#include "source.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>

namespace cvmd::dsl {

namespace fs = std::filesystem;

namespace {

LoadResult
check_and_compile(std::vector<std::unique_ptr<SourceFile>> sources, const TemplateCatalog& templates,
                  Diagnostics diagnostics)
{
  LoadResult result;
  std::vector<ParsedFile> parsed;
  parsed.reserve(sources.size());
  for (const auto& source : sources) {
    result.files.push_back(source->path());
    parsed.push_back(parse_file(*source, diagnostics));
  }
  Symbols symbols;
  check(parsed, templates, symbols, diagnostics);
  if (!diagnostics.has_errors()) {
    result.program = compile(symbols);
  }
  diagnostics.sort();
  result.diagnostics = std::move(diagnostics);
  return result;
}


// `templates/` in the scenarios' folder, or beside it.
std::string
default_templates(const std::vector<std::string>& paths)
{
  if (paths.empty()) {
    return {};
  }
  fs::path base = paths.front();
  std::error_code ec;
  if (!fs::is_directory(base, ec)) {
    base = base.parent_path();
  }
  if (base.empty()) {
    base = ".";
  }
  for (const auto& candidate : {base / "templates", base.parent_path() / "templates"}) {
    if (!candidate.parent_path().empty() && fs::is_directory(candidate, ec)) {
      return candidate.lexically_normal().string();
    }
  }
  return {};
}

} // namespace

LoadResult
load(const std::vector<std::string>& paths, const std::string& templates_directory)
{
  LoadResult failed;
  std::vector<fs::path> files;
  for (const auto& path : paths) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      failed.usage_error = path + ": no such file or folder";
      return failed;
    }
    if (fs::is_directory(status)) {
      // A symlink loop or an unreadable entry is one skipped entry, not a lost check.
      std::vector<fs::path> found;
      for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code file_ec;
        if (it->path().extension() == ".cvm" && it->is_regular_file(file_ec)) {
          found.push_back(it->path());
        }
      }
      if (ec) {
        failed.usage_error = path + ": cannot read the folder: " + ec.message();
        return failed;
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.emplace_back(path);
    }
  }

  // The same file named twice (`a.cvm ./a.cvm`) is read once, not reported as a duplicate.
  std::vector<std::unique_ptr<SourceFile>> sources;
  std::vector<fs::path> seen;
  for (const auto& file : files) {
    std::error_code ec;
    auto canonical = fs::weakly_canonical(file, ec);
    if (ec) {
      canonical = file;
    }
    if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) {
      continue;
    }
    seen.push_back(canonical);
    auto text = read_text_file(file.string());
    if (!text) {
      failed.usage_error = "cannot read " + file.string();
      return failed;
    }
    sources.push_back(std::make_unique<SourceFile>(file.string(), std::move(*text)));
  }

  std::string directory = templates_directory.empty() ? default_templates(paths) : templates_directory;
  if (!templates_directory.empty()) {
    std::error_code ec;
    if (!fs::is_directory(templates_directory, ec)) {
      failed.usage_error = templates_directory + ": templates folder not found";
      return failed;
    }
  }
  Diagnostics diagnostics;
  TemplateCatalog templates;
  if (!directory.empty()) {
    templates.load_directory(directory, diagnostics);
  }
  auto result = check_and_compile(std::move(sources), templates, std::move(diagnostics));
  result.templates_directory = directory;
  return result;
}

LoadResult
load_sources(const std::vector<SourceText>& sources, const TemplateCatalog& templates)
{
  std::vector<std::unique_ptr<SourceFile>> files;
  for (const auto& s : sources) {
    files.push_back(std::make_unique<SourceFile>(s.path, s.text));
  }
  return check_and_compile(std::move(files), templates, Diagnostics{});
}

} // namespace cvmd::dsl
