// An exclusive advisory lock on a file (flock), released when the object dies or the process
// exits, even by SIGKILL. Serializes builds of the same kernel cache entry across processes.
#pragma once

#include <filesystem>
#include <functional>

#include "common/result.h"

namespace arrow::builder {

class FileLock {
 public:
  // Creates `path` if needed and locks it; if another process holds it, calls `on_wait` once
  // and then blocks until the lock is free.
  static Result<FileLock> Acquire(const std::filesystem::path& path,
                                  const std::function<void()>& on_wait = {});
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace arrow::builder
