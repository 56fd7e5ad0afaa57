// A network backend: where the guest's Ethernet frames go and where the frames for the guest
// come from. The virtio-net device (built-in VMM) and the frame pump (qemu backend) drive one
// from a single thread with poll(): AddPollFds() before, HandlePollFds() after, Send() for
// each frame from the guest; frames for the guest leave through the sink.
//
// The guest's network is the same for every backend (docs/architecture.md, "Runner"):
// 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3, MAC 52:54:00:12:34:56, so arrow-init's static
// configuration and a recipe's expectations never depend on the backend.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace arrow::runner::net {

inline constexpr char kGuestIp[] = "10.0.2.15";
inline constexpr int kGuestPrefix = 24;
inline constexpr char kGatewayIp[] = "10.0.2.2";
inline constexpr char kDnsIp[] = "10.0.2.3";
inline constexpr uint8_t kGuestMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

class NetBackend {
 public:
  using Sink = std::function<void(std::span<const uint8_t>)>;
  virtual ~NetBackend() = default;

  // Where frames for the guest go. Called only from the driving thread.
  void set_sink(Sink s) { sink_ = std::move(s); }
  // Appends the fds this round should watch and lowers *timeout_ms (-1 = no limit) as needed.
  // `can_receive` is false while the guest side holds too many undelivered frames: backends
  // that can leave frames in a socket stop reading it.
  virtual void AddPollFds(std::vector<pollfd>& fds, int* timeout_ms, bool can_receive) = 0;
  // After poll(): `fds` is exactly the range this backend appended, with revents filled in.
  virtual void HandlePollFds(std::span<const pollfd> fds) = 0;
  // One Ethernet frame from the guest (no virtio header).
  virtual void Send(std::span<const uint8_t> frame) = 0;
  // The largest IP packet the backend carries (the guest's MTU).
  virtual int mtu() const = 0;
  // One line for messages: "user (libslirp 4.7.0)", "passt (pid 123)".
  virtual std::string Describe() const = 0;
  // The descriptors the backend opened and keeps (its socket, TAP fd, listening sockets): the
  // confined VMM process keeps these and closes every other inherited one.
  virtual std::vector<int> fds() const { return {}; }

 protected:
  Sink sink_;
};

}  // namespace arrow::runner::net
