#include "engine/job_thread.hpp"

namespace cvmd {

JobThread::JobThread(std::function<void()> on_idle)
  : m_on_idle(std::move(on_idle)),
    m_thread([this] { loop(); })
{
}

JobThread::~JobThread()
{
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  m_thread.join();
}

void
JobThread::post(std::function<void()> job)
{
  {
    std::lock_guard lock(m_mutex);
    m_jobs.push_back(std::move(job));
  }
  m_wake.notify_one();
}

void
JobThread::loop()
{
  std::unique_lock lock(m_mutex);
  while (true) {
    m_wake.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
    if (m_jobs.empty()) {
      return; // stopping, and nothing left
    }
    auto job = std::move(m_jobs.front());
    m_jobs.pop_front();
    lock.unlock();
    try {
      job();
    } catch (...) {
      // A job answers for itself; nothing may end this thread.
    }
    lock.lock();
    if (m_jobs.empty() && m_on_idle) {
      lock.unlock();
      try {
        m_on_idle();
      } catch (...) {
        // As a job: it answers for itself.
      }
      lock.lock();
    }
  }
}

} // namespace cvmd
