#include "engine/order_pipeline.hpp"

namespace cvmd {

namespace {

// Large enough that the hand-over costs nothing per row, small enough to stay in cache.
constexpr std::size_t batch_rows = 4096;

} // namespace

OrderPipeline::OrderPipeline(Store::Writer& writer)
  : m_writer(writer),
    m_filling(batch_rows),
    m_writing(batch_rows),
    m_thread([this] { write_batches(); })
{
}

OrderPipeline::~OrderPipeline()
{
  {
    std::lock_guard lock(m_mutex);
    m_closing = true;
  }
  m_changed.notify_all();
  m_thread.join();
}

void
OrderPipeline::push(const OrderRow& row)
{
  slot() = row; // assigning keeps the slot's string buffers: no allocation once they have grown
  push_slot();
}

void
OrderPipeline::push_slot()
{
  m_writer.note_bulk_customer(m_filling[m_filled].customer_id);
  if (++m_filled == m_filling.size()) {
    hand_over();
  }
}

void
OrderPipeline::hand_over()
{
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [this] { return !m_has_batch || m_error; });
  if (m_error) {
    m_filled = 0; // the writer has stopped; finish() reports why
    return;
  }
  std::swap(m_filling, m_writing);
  m_to_write = m_filled;
  m_filled = 0;
  m_has_batch = true;
  lock.unlock();
  m_changed.notify_all();
}

void
OrderPipeline::finish()
{
  if (m_filled > 0) {
    hand_over();
  }
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [this] { return !m_has_batch || m_error; });
  if (m_error) {
    std::rethrow_exception(m_error);
  }
}

void
OrderPipeline::write_batches()
{
  std::unique_lock lock(m_mutex);
  while (true) {
    m_changed.wait(lock, [this] { return m_has_batch || m_closing; });
    if (!m_has_batch) {
      return;
    }
    lock.unlock();
    std::exception_ptr error;
    try {
      m_writer.append_orders(m_writing.data(), m_to_write);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    m_has_batch = false;
    m_error = error;
    m_changed.notify_all();
    if (error) {
      return;
    }
  }
}

} // namespace cvmd
