// virtio-net (virtio 1.1 §5.1) on the virtio-mmio transport: queue 0 receives, queue 1
// transmits, every frame carries the 12-byte virtio_net_hdr_v1. Offered features: VERSION_1,
// MAC, STATUS (link up), MTU and MRG_RXBUF (a frame may span several receive buffers, so a
// backend MTU above 1500 works without guest TSO). No checksum or segmentation offloads: the
// backends (libslirp, passt, TAP without vnet headers) take and give complete frames.
//
// One event thread per device moves frames: it waits on the two queue-notify eventfds, a stop
// eventfd and the backend's fds; guest TX chains go to the backend, backend frames wait in a
// bounded queue (dropped beyond it, like a full NIC ring; TCP retransmits) until the guest
// posts receive buffers. The transport's mutex guards queue processing against register
// accesses from vCPU threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "common/result.h"
#include "runner/devices/virtio/mmio.h"
#include "runner/net/backend.h"

namespace arrow::runner::virtio {

namespace net_feature {
inline constexpr uint64_t kCsum = 1ull << 0, kGuestCsum = 1ull << 1, kMtu = 1ull << 3,
                          kMac = 1ull << 5, kGuestTso4 = 1ull << 7, kMrgRxbuf = 1ull << 15,
                          kStatus = 1ull << 16;
}
inline constexpr uint32_t kNetDeviceId = 1;
inline constexpr size_t kNetHdrSize = 12;
inline constexpr uint16_t kNetQueueSize = 256;

struct NetStats {
  uint64_t tx_frames = 0, rx_frames = 0, rx_dropped = 0;
};

class VirtioNet final : public VirtioDevice {
 public:
  // `interrupt` raises the device's interrupt line (irqfd or KVM_IRQ_LINE).
  static Result<std::unique_ptr<VirtioNet>> Create(GuestMemory& mem,
                                                   std::shared_ptr<net::NetBackend> backend,
                                                   std::function<void()> interrupt);
  ~VirtioNet() override;

  MmioTransport& transport() { return transport_; }
  // The eventfd a notify of queue `i` signals (registered as a KVM ioeventfd by the VMM).
  int queue_eventfd(size_t i) const { return kick_fd_[i]; }
  // Starts / stops the event thread. Stop() is idempotent and joins.
  void Start();
  void Stop();
  NetStats stats();

  // VirtioDevice
  uint32_t device_id() const override { return kNetDeviceId; }
  uint64_t device_features() const override;
  std::span<const uint8_t> config() const override { return config_; }
  void Activate(uint64_t features) override;
  void Reset() override;
  void Notify(uint32_t index) override;

  // One round of the event loop's work without waiting (tests drive the device with it):
  // transmit what the guest queued, deliver what is pending. Takes the transport's mutex.
  void ProcessQueues();
  // Hands a frame to the guest side as the backend would (tests).
  void DeliverFromBackend(std::span<const uint8_t> frame) { OnBackendFrame(frame); }

 private:
  VirtioNet(GuestMemory& mem, std::shared_ptr<net::NetBackend> backend,
            std::function<void()> interrupt);
  void Loop();
  void OnBackendFrame(std::span<const uint8_t> frame);
  void ProcessTxLocked();
  void FlushRxLocked();

  MmioTransport transport_;
  std::shared_ptr<net::NetBackend> backend_;
  uint8_t config_[12] = {};
  int kick_fd_[2] = {-1, -1};
  int stop_fd_ = -1;
  bool mrg_rxbuf_ = false;
  std::deque<std::vector<uint8_t>> pending_;  // frames for the guest, oldest first
  std::vector<uint8_t> tx_buf_;
  NetStats stats_;
  std::thread thread_;
  std::atomic<bool> started_{false};
};

}  // namespace arrow::runner::virtio
