#include "engine/command_common.hpp"

#include <iostream>

namespace cvmd {

std::optional<dsl::LoadResult>
load_scenarios(const Config& config, const std::string& folder, const std::string& command, const std::string& not_done,
               int& exit_code)
{
  auto loaded = dsl::load({folder.empty() ? config.scenarios : folder}, config.templates_set ? config.templates : std::string());
  if (loaded.usage_error) {
    std::cerr << "cvmd " << command << ": " << *loaded.usage_error << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!loaded.program) { // refused whole: never a half-applied scenario set
    for (const auto& d : loaded.diagnostics.all()) {
      std::cerr << dsl::format_text(d);
    }
    std::cerr << "cvmd " << command << ": the scenarios have errors; " << not_done << "\n";
    exit_code = 1;
    return std::nullopt;
  }
  return loaded;
}

} // namespace cvmd
