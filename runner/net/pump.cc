// The frame pump's poll loop; see pump.h.
#include "runner/net/pump.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "runner/net/stream.h"

namespace arrow::runner::net {

FramePump::FramePump(std::shared_ptr<NetBackend> backend, int fd)
    : backend_(std::move(backend)), fd_(fd), stop_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

FramePump::~FramePump() {
  Stop();
  backend_->set_sink(nullptr);
  close(fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

void FramePump::Start() {
  if (started_.exchange(true)) return;
  thread_ = std::thread([this] { Loop(); });
}

void FramePump::Stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof one);
  thread_.join();
}

std::string FramePump::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void FramePump::Loop() {
  FrameReader reader;
  FrameWriter writer;
  backend_->set_sink([&writer](std::span<const uint8_t> f) { writer.Queue(f); });
  auto fail = [this](const std::string& m) {
    std::lock_guard lock(mu_);
    error_ = m;
  };
  std::vector<pollfd> fds;
  std::vector<uint8_t> buf(1 << 16);
  for (;;) {
    fds.clear();
    fds.push_back({stop_fd_, POLLIN, 0});
    fds.push_back({fd_, static_cast<short>(POLLIN | (writer.empty() ? 0 : POLLOUT)), 0});
    int timeout = -1;
    backend_->AddPollFds(fds, &timeout, true);
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return fail("poll failed");
    if (fds[0].revents) return;
    if (fds[1].revents & POLLIN) {
      ssize_t n = read(fd_, buf.data(), buf.size());
      if (n == 0) return;  // qemu exited
      if (n > 0) {
        auto st = reader.Feed({buf.data(), static_cast<size_t>(n)},
                              [this](std::span<const uint8_t> f) { backend_->Send(f); });
        if (!st) return fail(st.message());
      }
    }
    backend_->HandlePollFds(std::span<const pollfd>(fds).subspan(2));
    if (auto st = writer.Flush(fd_); !st) return;  // qemu went away
  }
}

}  // namespace arrow::runner::net
