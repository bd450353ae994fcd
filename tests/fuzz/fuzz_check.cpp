// libFuzzer target over parse + check + compile: no input may crash, hang or leak.
// Built by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined).
#include "dsl/dsl.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

const cvmd::dsl::TemplateCatalog&
templates()
{
  static const cvmd::dsl::TemplateCatalog catalog = [] {
    cvmd::dsl::TemplateCatalog c;
    cvmd::dsl::Diagnostics ignored;
    c.load("reminder.yaml", "channel: email\nsubject: Hi {{first_name}}\ntext: x\n", ignored);
    c.load("welcome.yaml", "channel: email\nsubject: Welcome\nhtml: <p>{{first_name}}</p>\n", ignored);
    c.load("vip_thanks.yaml", "channel: sms\ntext: Thanks {{first_name}}\n", ignored);
    c.load("hook.yaml", "channel: webhook\nbody: '{}'\n", ignored);
    return c;
  }();
  return catalog;
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto result = cvmd::dsl::load_sources({{"fuzz.cvm", text}}, templates());
  for (const auto& d : result.diagnostics.all()) {
    (void)cvmd::dsl::format_text(d);
  }
  if (result.program) {
    for (const auto& s : result.program->scenarios) {
      (void)cvmd::dsl::canonical_text(s, *result.program);
    }
  }
  return 0;
}
