#pragma once
// Which event digests may have been stored: a Bloom filter. Nearly every event the API
// receives is new, and proving it new took a look-up in memory and one in the on-disk index
// (a fifth of a request's writing time); the filter answers "certainly not stored" for all
// but a fraction of a percent of them. It only grows: a digest added for an event that was
// rolled back is a false "maybe", never a wrong "no". The digests are already uniform
// (XXH64), so the bit positions are taken from their two halves.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cvmd {

class DigestFilter
{
public:
  void add(std::int64_t digest);
  bool may_contain(std::int64_t digest) const;
  std::size_t size() const { return m_added; }
  std::size_t bytes() const;

private:
  // When a layer is full a new one twice its size takes the new digests: nothing is rebuilt.
  struct Layer
  {
    std::vector<std::uint64_t> words;
    std::uint64_t mask = 0; // bits - 1
    std::size_t capacity = 0;
    std::size_t added = 0;
  };
  static void set_bits(Layer& layer, std::uint64_t digest);
  static bool has_bits(const Layer& layer, std::uint64_t digest);

  std::vector<Layer> m_layers;
  std::size_t m_added = 0;
};

} // namespace cvmd
