#include "symbols.hpp"

#include "keywords.hpp"

namespace cvmd::dsl {

ResolvedReference
resolve(const std::string& text, const Symbols& symbols)
{
  ResolvedReference r;
  r.lower = to_lower(text);
  if (is_profile_reference(r.lower)) {
    r.kind = ReferenceKind::profile;
  } else if (auto it = symbols.segments.find(r.lower); it != symbols.segments.end()) {
    r.kind = ReferenceKind::user_segment;
    r.segment = &it->second;
  } else if (const auto* builtin = find_builtin_segment(r.lower)) {
    r.kind = ReferenceKind::builtin_segment;
    r.builtin = builtin;
  } else if (auto index = find_attribute(r.lower)) {
    r.kind = ReferenceKind::attribute;
    r.attribute = *index;
  }
  return r;
}

const ResolvedReference&
resolve(const ast::Reference& reference, const Symbols& symbols)
{
  auto it = symbols.resolved.find(&reference);
  if (it == symbols.resolved.end()) {
    it = symbols.resolved.emplace(&reference, resolve(reference.text, symbols)).first;
  }
  return it->second;
}

} // namespace cvmd::dsl
