#pragma once
// One thread that runs the jobs handed to it, in the order they came. A job that throws
// is dropped (it answers for itself); the destructor runs what is queued, then joins.
// `on_idle`, when given, runs on the thread each time the queue has run empty (the event
// API commits the group of requests it has written then).

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace cvmd {

class JobThread
{
public:
  explicit JobThread(std::function<void()> on_idle = {});
  ~JobThread();
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  void post(std::function<void()> job);

private:
  void loop();

  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::function<void()>> m_jobs;
  bool m_stopping = false;
  std::function<void()> m_on_idle;
  std::thread m_thread; // last: starts once everything above is ready
};

} // namespace cvmd
