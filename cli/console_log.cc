// The bounded console log of a detached instance; see console_log.h.
#include "cli/console_log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace arrow::cli {
namespace {

std::atomic<ConsoleLog*> g_current{nullptr};

}  // namespace

ConsoleLog* ConsoleLog::Current() { return g_current.load(); }

Status ConsoleLog::Start(const std::filesystem::path& path, uint64_t max_bytes) {
  path_ = path;
  max_ = max_bytes < 4096 ? 4096 : max_bytes;
  file_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (file_ < 0) return Err(path.string(), ": ", std::strerror(errno));
  struct stat st {};
  if (fstat(file_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Err("pipe: ", std::strerror(errno));
  read_fd_ = p[0];
  fflush(stdout);
  fflush(stderr);
  dup2(p[1], STDOUT_FILENO);  // dup2'd descriptors are inherited: qemu and the VMM write here
  dup2(p[1], STDERR_FILENO);
  close(p[1]);
  g_current.store(this);
  thread_ = std::thread([this] { Copy(); });
  return Ok{};
}

void ConsoleLog::WatchLines(std::regex re, std::function<void()> up) {
  std::lock_guard lock(mu_);
  watch_ = std::move(re);
  up_ = std::move(up);
}

void ConsoleLog::Rotate() {
  close(file_);
  std::error_code ec;
  std::filesystem::rename(path_, Previous(path_), ec);
  file_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  size_ = 0;
}

void ConsoleLog::Append(const char* data, size_t n) {
  while (n > 0) {
    if (size_ >= max_) Rotate();
    if (file_ < 0) return;  // could not reopen: drop rather than block the guest
    const size_t chunk = std::min<uint64_t>(n, max_ - size_);
    const ssize_t w = write(file_, data, chunk);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // disk full or the like: the rest of this chunk is dropped
    size_ += static_cast<uint64_t>(w);
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void ConsoleLog::Copy() {
  char buf[65536];
  auto deadline = std::chrono::steady_clock::time_point::max();
  for (;;) {
    if (finishing_.load() && deadline == std::chrono::steady_clock::time_point::max())
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    if (std::chrono::steady_clock::now() >= deadline) break;
    pollfd p{read_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(read_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every writer is gone
    Append(buf, static_cast<size_t>(n));
    std::lock_guard lock(mu_);
    if (!up_) continue;
    for (ssize_t i = 0; i < n && up_; i++) {
      if (buf[i] != '\n') {
        if (line_.size() < 65536) line_.push_back(buf[i]);
        continue;
      }
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      if (std::regex_search(line_, watch_)) {
        auto up = std::move(up_);
        up_ = nullptr;
        up();
      }
      line_.clear();
    }
  }
}

void ConsoleLog::Finish() {
  if (!thread_.joinable()) return;
  fflush(stdout);
  fflush(stderr);
  const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
  }
  finishing_.store(true);
  thread_.join();
  g_current.store(nullptr);
  close(read_fd_);
  if (file_ >= 0) close(file_);
  read_fd_ = file_ = -1;
}

}  // namespace arrow::cli
