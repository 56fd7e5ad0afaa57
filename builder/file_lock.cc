// flock(2)-based FileLock (see file_lock.h).
#include "builder/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arrow::builder {

Result<FileLock> FileLock::Acquire(const std::filesystem::path& path,
                                   const std::function<void()>& on_wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Err(path.string(), ": cannot open lock file: ", std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      int e = errno;
      ::close(fd);
      return Err(path.string(), ": flock: ", std::strerror(e));
    }
    if (on_wait) on_wait();
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Err(path.string(), ": flock: ", std::strerror(e));
    }
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace arrow::builder
