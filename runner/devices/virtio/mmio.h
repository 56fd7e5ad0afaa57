// The virtio-mmio transport, version 2 ("modern", virtio 1.1 §4.2.2): the 4 KiB register
// window a device shows the guest, feature negotiation, queue set-up, the device status state
// machine and the interrupt status. Devices (net, block) implement VirtioDevice and
// get their queues, their interrupt and NEEDS_RESET from here unchanged.
//
// Threads: register accesses come from vCPU threads, queue processing from the device's own
// thread; both hold mu(). Queue notifications arrive on per-queue eventfds (KVM ioeventfd on
// the QueueNotify register; a notify that exits to user space anyway is forwarded to the same
// eventfd), interrupts leave through an irqfd (or a fallback callback).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "runner/devices/virtio/queue.h"
#include "runner/vstate/memory.h"

namespace arrow::runner::virtio {

// Register offsets (virtio 1.1 §4.2.2.1).
namespace reg {
inline constexpr uint64_t kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008,
                          kVendorId = 0x00c, kDeviceFeatures = 0x010, kDeviceFeaturesSel = 0x014,
                          kDriverFeatures = 0x020, kDriverFeaturesSel = 0x024, kQueueSel = 0x030,
                          kQueueNumMax = 0x034, kQueueNum = 0x038, kQueueReady = 0x044,
                          kQueueNotify = 0x050, kInterruptStatus = 0x060, kInterruptAck = 0x064,
                          kStatus = 0x070, kQueueDescLow = 0x080, kQueueDescHigh = 0x084,
                          kQueueDriverLow = 0x090, kQueueDriverHigh = 0x094,
                          kQueueDeviceLow = 0x0a0, kQueueDeviceHigh = 0x0a4,
                          kConfigGeneration = 0x0fc, kConfig = 0x100;
}  // namespace reg

inline constexpr uint32_t kMagicValue = 0x74726976;  // "virt"
inline constexpr uint32_t kVendor = 0x776f7261;      // "arow"
inline constexpr uint64_t kWindowSize = 0x1000;

namespace status {
inline constexpr uint32_t kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8,
                          kNeedsReset = 64, kFailed = 128;
}
inline constexpr uint64_t kFeatureVersion1 = 1ull << 32;
inline constexpr uint32_t kInterruptUsedBuffer = 1, kInterruptConfigChange = 2;

class MmioTransport;

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual uint32_t device_id() const = 0;
  // Features offered, VERSION_1 included.
  virtual uint64_t device_features() const = 0;
  // Device-specific config space (read at reg::kConfig + offset).
  virtual std::span<const uint8_t> config() const = 0;
  // The driver set DRIVER_OK with `features` negotiated; every queue is active. Called with
  // the transport's mutex held.
  virtual void Activate(uint64_t features) = 0;
  // The driver reset the device (status 0) or the device failed; mutex held.
  virtual void Reset() = 0;
  // The driver notified queue `index` (the transport validated it).
  virtual void Notify(uint32_t index) = 0;
};

class MmioTransport {
 public:
  // `queue_sizes`: the maximum size of each queue. `interrupt` raises the device's interrupt.
  MmioTransport(GuestMemory& mem, VirtioDevice& device, std::vector<uint16_t> queue_sizes,
                std::function<void()> interrupt);

  // Register access from a vCPU: `offset` inside the window, data of 1..8 bytes. Registers
  // take aligned 4-byte accesses only (others read 0 and are dropped), the config space any
  // width inside its bounds.
  void Read(uint64_t offset, std::span<uint8_t> data);
  void Write(uint64_t offset, std::span<const uint8_t> data);

  std::mutex& mu() { return mu_; }
  // DRIVER_OK set and no device error since: queues may be used. Requires mu().
  bool running() const { return running_; }
  Queue& queue(size_t i) { return queues_[i]; }
  size_t num_queues() const { return queues_.size(); }
  uint64_t features() const { return driver_features_; }
  GuestMemory& mem() { return mem_; }
  uint32_t device_status() const { return status_; }
  // Requires mu(): counts device resets, so work done unlocked can tell its queue was reset.
  uint64_t generation() const { return generation_; }
  // Requires mu(): the driver gets a used-buffer interrupt.
  void SignalUsed();
  // Requires mu(): a malformed request or ring. Sets NEEDS_RESET, raises a config interrupt,
  // stops the device until the driver resets it. `why` is kept for diagnostics.
  void DeviceError(const std::string& why);
  const std::string& last_error() const { return last_error_; }

 private:
  uint32_t ReadReg(uint64_t offset);
  void WriteReg(uint64_t offset, uint32_t v);
  void WriteStatus(uint32_t v);
  void ResetLocked();
  Queue* Selected();

  std::mutex mu_;
  GuestMemory& mem_;
  VirtioDevice& device_;
  std::vector<Queue> queues_;
  std::function<void()> interrupt_;
  uint32_t status_ = 0, features_sel_ = 0, driver_features_sel_ = 0, queue_sel_ = 0;
  uint32_t interrupt_status_ = 0;
  uint64_t driver_features_ = 0;
  uint64_t generation_ = 0;
  bool running_ = false;
  std::string last_error_;
};

}  // namespace arrow::runner::virtio
