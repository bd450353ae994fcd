#pragma once
// Hands validated orders to the store's writer on a second thread, in batches, so that
// reading and checking the file overlaps with SQLite's inserts during a bulk load.

#include "engine/store.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace cvmd {

class OrderPipeline
{
public:
  explicit OrderPipeline(Store::Writer& writer);
  ~OrderPipeline(); // waits for the writer thread; errors are only reported by finish()
  OrderPipeline(const OrderPipeline&) = delete;
  OrderPipeline& operator=(const OrderPipeline&) = delete;

  void push(const OrderRow& row);
  // The row the next push would fill, to be filled in place (its buffers are reused) and
  // handed over with push_slot(); filling it without pushing leaves it for the next row.
  OrderRow& slot() { return m_filling[m_filled]; }
  void push_slot();
  // Waits until every pushed order is written; rethrows the writer thread's error.
  void finish();

private:
  void hand_over();
  void write_batches();

  Store::Writer& m_writer;
  std::vector<OrderRow> m_filling;
  std::size_t m_filled = 0;
  std::vector<OrderRow> m_writing;
  std::size_t m_to_write = 0;
  bool m_has_batch = false;
  bool m_closing = false;
  std::exception_ptr m_error;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::thread m_thread;
};

} // namespace cvmd
