// An exclusive advisory lock on a file (flock), released when the object dies or the process
// exits, even by SIGKILL. Serializes builds of the same kernel cache entry across processes;
// shared holders (builds using an unpacked source tree) keep `arrow kernel prune` away.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>

#include "common/result.h"

namespace arrow::builder {

class FileLock {
 public:
  // Creates `path` if needed and locks it; if another process holds it, calls `on_wait` once
  // and then blocks until the lock is free.
  static Result<FileLock> Acquire(const std::filesystem::path& path,
                                  const std::function<void()>& on_wait = {});
  // A shared lock: any number of holders at once, none while someone holds Acquire's lock.
  static Result<FileLock> AcquireShared(const std::filesystem::path& path,
                                        const std::function<void()>& on_wait = {});
  // The exclusive lock if nobody holds the file in any mode right now; nullopt if someone does.
  static Result<std::optional<FileLock>> TryAcquire(const std::filesystem::path& path);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace arrow::builder
