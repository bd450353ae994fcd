// Runs tests/golden/*.test: readable input, then the expected diagnostics after `----`
// (DuckDB sqllogictest style). See tests/golden/README.md for the format.
#include "test_helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

struct Record
{
  int line = 0;
  std::string source;
  std::vector<std::string> expected;
};

std::vector<std::string>
read_lines(const fs::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

} // namespace

TEST_SUITE("golden")
{
  TEST_CASE("every golden file gives exactly its expected diagnostics")
  {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(CVMD_SOURCE_DIR "/tests/golden")) {
      if (entry.path().extension() == ".test") {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 8);
    std::size_t records = 0;

    for (const auto& file : files) {
      const auto lines = read_lines(file);
      std::vector<cvmd::dsl::SourceText> templates; // `template NAME` records so far
      std::size_t reported_templates = 0;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& line = lines[i];
        if (line.rfind("template ", 0) == 0) {
          cvmd::dsl::SourceText t{line.substr(9) + ".yaml", {}};
          for (++i; i < lines.size() && !lines[i].empty(); ++i) {
            t.text += lines[i] + "\n";
          }
          templates.push_back(t);
          continue;
        }
        if (line != "check") {
          continue;
        }
        Record record;
        record.line = static_cast<int>(i) + 1;
        for (++i; i < lines.size() && lines[i] != "----"; ++i) {
          record.source += lines[i] + "\n";
        }
        for (++i; i < lines.size() && !lines[i].empty(); ++i) {
          record.expected.push_back(lines[i]);
        }

        cvmd::dsl::TemplateCatalog catalog;
        cvmd::dsl::Diagnostics template_diagnostics;
        cvmd::dsl::Diagnostics earlier_template_diagnostics; // reported by an earlier record
        // Shown as golden-templates/NAME.yaml so that expectations do not hold a machine path.
        for (const auto& entry : fs::directory_iterator(CVMD_SOURCE_DIR "/tests/golden/templates")) {
          std::ifstream in(entry.path(), std::ios::binary);
          std::stringstream text;
          text << in.rdbuf();
          catalog.load("golden-templates/" + entry.path().filename().string(), text.str(), template_diagnostics);
        }
        for (std::size_t k = 0; k < templates.size(); ++k) {
          catalog.load(templates[k].path, templates[k].text,
                       k < reported_templates ? earlier_template_diagnostics : template_diagnostics);
        }
        reported_templates = templates.size();
        const auto result = cvmd::dsl::load_sources({{"input.cvm", record.source}}, catalog);
        auto actual = cvmd::test::diagnostic_lines(template_diagnostics);
        const auto more = cvmd::test::diagnostic_lines(result.diagnostics);
        actual.insert(actual.end(), more.begin(), more.end());
        if (actual.empty()) {
          actual.push_back("ok");
        }

        std::string expected_text;
        std::string actual_text;
        for (const auto& l : record.expected) {
          expected_text += l + "\n";
        }
        for (const auto& l : actual) {
          actual_text += l + "\n";
        }
        INFO(file.filename().string() << ":" << record.line);
        CHECK(actual_text == expected_text);
        ++records;
      }
    }
    CHECK(records >= 30);
  }
}
