#pragma once
// One cycle at a time per store: two overlapping `cvmd run` would both load the same
// pending messages and send them twice. An advisory lock (flock) on STORE.lock beside the
// store; the kernel drops it when the process dies, so a crash never leaves it behind.

#include "engine/result.hpp"

#include <string>

namespace cvmd {

class RunLock
{
public:
  // Fails at once (does not wait) when another process holds it.
  static Result<RunLock> acquire(const std::string& store_path);
  RunLock(RunLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  RunLock& operator=(RunLock&&) = delete;
  RunLock(const RunLock&) = delete;
  ~RunLock();

private:
  explicit RunLock(int fd) : m_fd(fd) {}
  int m_fd;
};

} // namespace cvmd
