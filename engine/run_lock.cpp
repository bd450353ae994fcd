#include "engine/run_lock.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace cvmd {

Result<RunLock>
RunLock::acquire(const std::string& store_path)
{
  const auto path = store_path + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Result<RunLock>::failure(path + ": cannot open the lock file: " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    return Result<RunLock>::failure(error == EWOULDBLOCK
                                      ? "another cvmd run or serve is working on " + store_path + " (" + path + ")"
                                      : path + ": cannot lock: " + std::strerror(error));
  }
  return RunLock(fd);
}

RunLock::~RunLock()
{
  if (m_fd >= 0) {
    ::close(m_fd); // closing releases the lock
  }
}

} // namespace cvmd
