#include "test_helpers.hpp"

namespace cvmd::test {

const dsl::TemplateCatalog&
standard_templates()
{
  static const dsl::TemplateCatalog catalog = [] {
    dsl::TemplateCatalog c;
    dsl::Diagnostics ignored;
    c.load_directory(CVMD_SOURCE_DIR "/tests/golden/templates", ignored);
    return c;
  }();
  return catalog;
}

dsl::LoadResult
check_text(const std::string& text)
{
  return dsl::load_sources({{"input.cvm", text}}, standard_templates());
}

std::vector<std::string>
diagnostic_lines(const dsl::Diagnostics& diagnostics)
{
  std::vector<std::string> out;
  for (const auto& d : diagnostics.all()) {
    auto text = dsl::format_text(d, false);
    std::size_t start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
      out.push_back(text.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

} // namespace cvmd::test
