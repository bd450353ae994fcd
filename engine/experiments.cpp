#include "engine/experiments.hpp"

#include <xxhash.h>

namespace cvmd {

double
assignment_bucket(std::string_view customer_id, std::string_view scenario_id, std::string_view name)
{
  std::string key;
  key.reserve(customer_id.size() + scenario_id.size() + name.size() + 2);
  key.append(customer_id).append(1, '\x1f').append(scenario_id).append(1, '\x1f').append(name);
  const auto hash = XXH64(key.data(), key.size(), 0);
  // The top 53 bits as a fraction: uniform, and exact in a double.
  return static_cast<double>(hash >> 11) * (100.0 / 9007199254740992.0);
}

const dsl::SplitVariant&
choose_variant(const dsl::Step& split, double bucket)
{
  double upper = 0;
  for (const auto& v : split.variants) {
    upper += v.weight;
    if (bucket < upper) {
      return v;
    }
  }
  // Rounding at the very top: the last variant that can be chosen at all.
  for (auto v = split.variants.rbegin(); v != split.variants.rend(); ++v) {
    if (v->weight > 0) {
      return *v;
    }
  }
  return split.variants.back();
}

} // namespace cvmd
