// The console log of a detached instance, bounded: a guest that floods its console cannot fill
// the host's disk through `arrow logs`.
//
// Start() points this process's stdout and stderr (and so those of the VMM child and qemu) at a
// pipe; a thread copies the pipe into `console.log`. When the file would pass `max_bytes`, it
// becomes `console.log.1` (replacing the previous one) and a new `console.log` starts, like
// docker's json-file driver with max-file=2: an instance's log never takes more than twice
// `max_bytes`, and the newest output is always kept. The same thread watches lines for
// `[app] ready = "log:REGEX"`.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <regex>
#include <thread>

#include "common/result.h"

namespace arrow::cli {

inline constexpr uint64_t kDefaultLogMaxBytes = 16ull << 20;

class ConsoleLog {
 public:
  ConsoleLog() = default;
  ~ConsoleLog() { Finish(); }
  ConsoleLog(const ConsoleLog&) = delete;
  ConsoleLog& operator=(const ConsoleLog&) = delete;

  // Opens `path` for appending and redirects stdout/stderr into the copy thread.
  Status Start(const std::filesystem::path& path, uint64_t max_bytes);
  // Calls `up` once, from the copy thread, when a line matches `re`.
  void WatchLines(std::regex re, std::function<void()> up);
  // Points stdout/stderr at /dev/null, copies what is left (at most ~2 s for writers that
  // linger), closes the file.
  void Finish();

  // The log of this process, while one is started (for `ready = "log:..."`).
  static ConsoleLog* Current();

  // The rotated-out file beside `path`.
  static std::filesystem::path Previous(const std::filesystem::path& path) {
    return path.string() + ".1";
  }

 private:
  void Copy();
  void Append(const char* data, size_t n);
  void Rotate();

  std::filesystem::path path_;
  uint64_t max_ = kDefaultLogMaxBytes;
  int read_fd_ = -1;
  int file_ = -1;
  uint64_t size_ = 0;
  std::thread thread_;
  std::atomic<bool> finishing_{false};
  std::mutex mu_;  // the watch
  std::regex watch_;
  std::function<void()> up_;
  std::string line_;
};

}  // namespace arrow::cli
