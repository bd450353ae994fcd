#pragma once
// The keys of the events stored since the on-disk key index (event_keys) was last brought up
// to date, in memory. A retry of an event is found by its key (event_key: a hash of its time
// and of customer, type and properties or messageId); an index ordered by it receives each
// new event at a random place, and at tens of thousands of events a second that rewrote
// dozens of pages per commit. So new keys wait here and go to the index in key order, a
// slice per commit: each slice touches only the pages of its range of keys, and each page is
// written about once per merge instead of once per commit. No SQL here: the store reads and
// writes (store_event_keys.cpp).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cvmd {

class RecentEventKeys
{
public:
  using Key = std::pair<std::int64_t, std::int64_t>; // (key, event_id), in the index's order

  // Ids come in increasing order.
  void add(std::int64_t event_id, std::int64_t key);
  // The events with this key among the recent ones (almost always none or one).
  std::vector<std::int64_t> events_with(std::int64_t key) const;
  // Their keys are in the index now. They leave memory a few at a time (trim): dropping a
  // merge's hundred thousand at once stalled a commit for 20 ms. Until then they may still
  // be found here, which is harmless: every candidate is compared with its row.
  void forget_through(std::int64_t event_id);
  void trim(std::size_t most);
  // Rolled back: the events after `event_id` are not stored any more.
  void forget_after(std::int64_t event_id);
  void clear();
  std::size_t size() const { return m_by_id.size() - m_forgotten_held; } // not forgotten

  // A merge takes the keys held now and hands them out in key order, a slice at a time.
  // They are put in buckets by their first byte a part per slice, and each bucket is sorted
  // when its turn comes: sorting a hundred thousand keys at once stalled a commit.
  bool merging() const { return m_merge_through > 0; }
  void start_merge();
  // The next `keys` keys (fewer at the end) in place of `slice`'s contents.
  void next_slice(std::size_t keys, std::vector<Key>& slice);
  bool merge_done() const
  {
    return merging() && m_distributed_through == m_merge_through && m_merge_bucket == m_merge.size();
  }
  std::int64_t merge_through() const { return m_merge_through; }
  void abandon_merge();

private:
  void erase(std::int64_t event_id, std::int64_t key);
  bool distribute(std::size_t most); // true when every key of the merge is in its bucket

  using ById = std::deque<std::pair<std::int64_t, std::int64_t>>; // (event_id, key), by id
  ById::const_iterator first_after(std::int64_t event_id) const;

  ById m_by_id;
  std::unordered_multimap<std::int64_t, std::int64_t> m_by_key;
  std::int64_t m_forgotten_through = 0;
  std::size_t m_forgotten_held = 0; // the first ones of m_by_id
  std::vector<std::vector<Key>> m_merge; // buckets in key order
  std::size_t m_merge_bucket = 0;         // the bucket handed out now
  std::size_t m_merge_next = 0;           // in that bucket
  std::int64_t m_merge_through = 0; // the last event id of the merge; 0: none
  std::int64_t m_distributed_through = 0;
};

} // namespace cvmd
