#include "engine/digest_filter.hpp"

#include <cstring>

namespace cvmd {

namespace {

// 16 bits (2 bytes of memory) and 8 probes per digest: about one false "maybe" in 1,700
// per full layer; with the layers of a hundred million digests, about one in 150.
constexpr std::size_t bits_per_digest = 16;
constexpr int probes = 8;
constexpr std::size_t first_capacity = std::size_t{1} << 16;

std::uint64_t
unsigned_of(std::int64_t digest)
{
  std::uint64_t u;
  std::memcpy(&u, &digest, sizeof u);
  return u;
}

} // namespace

void
DigestFilter::set_bits(Layer& layer, std::uint64_t digest)
{
  const std::uint64_t step = (digest >> 32) | 1;
  std::uint64_t at = digest;
  for (int k = 0; k < probes; ++k, at += step) {
    const auto bit = at & layer.mask;
    layer.words[bit >> 6] |= std::uint64_t{1} << (bit & 63);
  }
}

bool
DigestFilter::has_bits(const Layer& layer, std::uint64_t digest)
{
  const std::uint64_t step = (digest >> 32) | 1;
  std::uint64_t at = digest;
  for (int k = 0; k < probes; ++k, at += step) {
    const auto bit = at & layer.mask;
    if (!(layer.words[bit >> 6] & (std::uint64_t{1} << (bit & 63)))) {
      return false;
    }
  }
  return true;
}

void
DigestFilter::add(std::int64_t digest)
{
  if (m_layers.empty() || m_layers.back().added >= m_layers.back().capacity) {
    Layer layer;
    layer.capacity = m_layers.empty() ? first_capacity : 2 * m_layers.back().capacity;
    const std::size_t bits = layer.capacity * bits_per_digest; // a power of two
    layer.words.assign(bits / 64, 0);
    layer.mask = bits - 1;
    m_layers.push_back(std::move(layer));
  }
  set_bits(m_layers.back(), unsigned_of(digest));
  ++m_layers.back().added;
  ++m_added;
}

bool
DigestFilter::may_contain(std::int64_t digest) const
{
  const auto u = unsigned_of(digest);
  for (const auto& layer : m_layers) {
    if (has_bits(layer, u)) {
      return true;
    }
  }
  return false;
}

std::size_t
DigestFilter::bytes() const
{
  std::size_t total = 0;
  for (const auto& layer : m_layers) {
    total += layer.words.size() * sizeof(std::uint64_t);
  }
  return total;
}

} // namespace cvmd
