// virtio-net device and its event thread; see net.h.
#include "runner/devices/virtio/net.h"

#include "runner/jail/seccomp.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arrow::runner::virtio {
namespace {

// Frames waiting for receive buffers: enough for a TCP window burst, bounded so a guest that
// never reads cannot make the VMM grow.
constexpr size_t kMaxPending = 1024;
// The longest chain we accept: header + a 64 KiB frame.
constexpr uint64_t kMaxChain = kNetHdrSize + 65536 + 64;

void Drain(int fd) {
  uint64_t v;
  while (read(fd, &v, sizeof v) > 0) {
  }
}

}  // namespace

Result<std::unique_ptr<VirtioNet>> VirtioNet::Create(GuestMemory& mem,
                                                     std::shared_ptr<net::NetBackend> backend,
                                                     std::function<void()> interrupt) {
  std::unique_ptr<VirtioNet> d(new VirtioNet(mem, std::move(backend), std::move(interrupt)));
  for (int* fd : {&d->kick_fd_[0], &d->kick_fd_[1], &d->stop_fd_}) {
    *fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (*fd < 0) return Err("virtio-net: eventfd: ", std::strerror(errno));
  }
  return d;
}

VirtioNet::VirtioNet(GuestMemory& mem, std::shared_ptr<net::NetBackend> backend,
                     std::function<void()> interrupt)
    : transport_(mem, *this, {kNetQueueSize, kNetQueueSize}, std::move(interrupt)),
      backend_(std::move(backend)) {
  std::memcpy(config_, net::kGuestMac, 6);
  const uint16_t link_up = 1, pairs = 1;
  const uint16_t mtu = static_cast<uint16_t>(backend_->mtu());
  std::memcpy(config_ + 6, &link_up, 2);
  std::memcpy(config_ + 8, &pairs, 2);
  std::memcpy(config_ + 10, &mtu, 2);
  backend_->set_sink([this](std::span<const uint8_t> f) { OnBackendFrame(f); });
}

VirtioNet::~VirtioNet() {
  Stop();
  backend_->set_sink(nullptr);
  for (int fd : {kick_fd_[0], kick_fd_[1], stop_fd_})
    if (fd >= 0) close(fd);
}

uint64_t VirtioNet::device_features() const {
  return kFeatureVersion1 | net_feature::kMac | net_feature::kStatus | net_feature::kMtu |
         net_feature::kMrgRxbuf;
}

void VirtioNet::Activate(uint64_t features) {
  mrg_rxbuf_ = features & net_feature::kMrgRxbuf;
  uint64_t one = 1;
  (void)!write(kick_fd_[0], &one, sizeof one);  // deliver what arrived before DRIVER_OK
}

void VirtioNet::Reset() {
  mrg_rxbuf_ = false;  // pending frames are dropped by the event thread (not running)
}

void VirtioNet::Notify(uint32_t index) {
  uint64_t one = 1;
  if (index < 2) (void)!write(kick_fd_[index], &one, sizeof one);
}

NetStats VirtioNet::stats() {
  std::lock_guard lock(transport_.mu());
  return stats_;
}

void VirtioNet::OnBackendFrame(std::span<const uint8_t> frame) {
  // Called from the event thread with the transport's mutex held (backend callbacks run
  // inside HandlePollFds / Send, both under the lock).
  if (!transport_.running() || pending_.size() >= kMaxPending || frame.size() > 65536) {
    stats_.rx_dropped++;
    return;
  }
  pending_.emplace_back(frame.begin(), frame.end());
}

void VirtioNet::ProcessTxLocked() {
  if (!transport_.running()) return;
  Queue& q = transport_.queue(1);
  bool used = false;
  for (;;) {
    auto c = q.Pop(transport_.mem(), kMaxChain);
    if (!c) {
      transport_.DeviceError("tx queue: " + c.message());
      return;
    }
    if (!*c) break;
    if ((*c)->writable_len != 0 || (*c)->readable_len < kNetHdrSize) {
      transport_.DeviceError("tx queue: a chain must be read-only and hold the 12-byte header");
      return;
    }
    (*c)->ReadInto(tx_buf_, kNetHdrSize);
    q.PushUsed((*c)->head, 0);
    used = true;
    stats_.tx_frames++;
    if (!tx_buf_.empty()) backend_->Send(tx_buf_);
    if (!transport_.running()) return;  // the backend's reply cannot have reset us, but be safe
  }
  if (used) transport_.SignalUsed();
}

void VirtioNet::FlushRxLocked() {
  if (!transport_.running()) {
    stats_.rx_dropped += pending_.size();
    pending_.clear();
    return;
  }
  Queue& q = transport_.queue(0);
  bool used = false;
  std::vector<Chain> chains;
  while (!pending_.empty()) {
    const std::vector<uint8_t>& frame = pending_.front();
    const uint64_t need = kNetHdrSize + frame.size();
    chains.clear();
    uint64_t room = 0;
    while (room < need) {
      auto c = q.Pop(transport_.mem(), kMaxChain);
      if (!c) {
        transport_.DeviceError("rx queue: " + c.message());
        return;
      }
      if (!*c) break;
      if ((*c)->readable_len != 0) {
        transport_.DeviceError("rx queue: a receive chain holds device-readable descriptors");
        return;
      }
      room += (*c)->writable_len;
      chains.push_back(std::move(**c));
      if (!mrg_rxbuf_) break;  // one buffer per frame without MRG_RXBUF
    }
    if (room < need) {
      if (!mrg_rxbuf_ && !chains.empty()) {  // a buffer too small for this frame: drop it
        q.PushUsed(chains[0].head, 0);
        used = true;
        stats_.rx_dropped++;
        pending_.pop_front();
        continue;
      }
      for (size_t i = 0; i < chains.size(); i++) q.Undo();  // wait for more buffers
      break;
    }
    uint8_t hdr[kNetHdrSize] = {};
    const uint16_t nbuf = static_cast<uint16_t>(chains.size());
    std::memcpy(hdr + 10, &nbuf, 2);
    size_t off = 0;  // into header + frame
    for (const Chain& c : chains) {
      size_t wrote = 0;
      if (off < kNetHdrSize) {
        wrote = c.WriteAt(0, {hdr + off, kNetHdrSize - off});
        off += wrote;
      }
      if (off >= kNetHdrSize && off < need) {
        size_t n = c.WriteAt(wrote, {frame.data() + (off - kNetHdrSize), need - off});
        off += n;
        wrote += n;
      }
      q.PushUsed(c.head, static_cast<uint32_t>(wrote));
    }
    used = true;
    stats_.rx_frames++;
    pending_.pop_front();
  }
  if (used) transport_.SignalUsed();
}

void VirtioNet::ProcessQueues() {
  std::lock_guard lock(transport_.mu());
  ProcessTxLocked();
  FlushRxLocked();
}

void VirtioNet::Start() {
  if (started_.exchange(true)) return;
  thread_ = std::thread([this] { Loop(); });
}

void VirtioNet::Stop() {
  if (!started_.load() || !thread_.joinable()) return;
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof one);
  thread_.join();
}

void VirtioNet::Loop() {
  jail::EnterThread(jail::Role::kNet);
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({stop_fd_, POLLIN, 0});
    fds.push_back({kick_fd_[0], POLLIN, 0});
    fds.push_back({kick_fd_[1], POLLIN, 0});
    int timeout = -1;
    {
      std::lock_guard lock(transport_.mu());
      backend_->AddPollFds(fds, &timeout, pending_.size() < kMaxPending / 2);
    }
    int r = poll(fds.data(), fds.size(), timeout);
    if (r < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    if (fds[1].revents) Drain(kick_fd_[0]);
    if (fds[2].revents) Drain(kick_fd_[1]);
    std::lock_guard lock(transport_.mu());
    ProcessTxLocked();
    backend_->HandlePollFds(std::span<const pollfd>(fds).subspan(3));
    FlushRxLocked();
  }
}

}  // namespace arrow::runner::virtio
