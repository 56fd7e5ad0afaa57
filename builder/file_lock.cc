// flock(2)-based FileLock (see file_lock.h).
#include "builder/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arrow::builder {

namespace {

// The locked fd; -1 when `wait` is false and someone else holds the lock.
Result<int> Lock(const std::filesystem::path& path, int mode, bool wait,
                 const std::function<void()>& on_wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Err(path.string(), ": cannot open lock file: ", std::strerror(errno));
  if (::flock(fd, mode | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      int e = errno;
      ::close(fd);
      return Err(path.string(), ": flock: ", std::strerror(e));
    }
    if (!wait) {
      ::close(fd);
      return -1;
    }
    if (on_wait) on_wait();
    while (::flock(fd, mode) != 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Err(path.string(), ": flock: ", std::strerror(e));
    }
  }
  return fd;
}

}  // namespace

Result<FileLock> FileLock::Acquire(const std::filesystem::path& path,
                                   const std::function<void()>& on_wait) {
  auto fd = Lock(path, LOCK_EX, true, on_wait);
  if (!fd.ok()) return fd.error();
  return FileLock(*fd);
}

Result<FileLock> FileLock::AcquireShared(const std::filesystem::path& path,
                                         const std::function<void()>& on_wait) {
  auto fd = Lock(path, LOCK_SH, true, on_wait);
  if (!fd.ok()) return fd.error();
  return FileLock(*fd);
}

Result<std::optional<FileLock>> FileLock::TryAcquire(const std::filesystem::path& path) {
  auto fd = Lock(path, LOCK_EX, false, {});
  if (!fd.ok()) return fd.error();
  if (*fd < 0) return std::optional<FileLock>{};
  return std::optional<FileLock>(FileLock(*fd));
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace arrow::builder
