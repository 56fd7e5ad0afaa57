// virtio-blk (virtio 1.1 §5.2) on the virtio-mmio transport: one request queue, every request
// {le32 type, le32 reserved, le64 sector} + data + one status byte, served from a host file
// (a volume image, or a layer of the .arrow held in a sealed memfd) at a byte offset.
//
// Offered: VERSION_1, SEG_MAX, BLK_SIZE (512), FLUSH, DISCARD and WRITE_ZEROES (one range per
// request, fallocate on the file), and RO for a read-only disk — then OUT, DISCARD and
// WRITE_ZEROES fail with IOERR in the device itself, whatever the guest mounts.
// FLUSH is acknowledged only after fdatasync on the file returned (Firecracker's default acks
// it without syncing; a committed transaction must survive the host).
//
// Requests are guest-controlled: the header must be readable, the status byte writable, IN
// and OUT lengths multiples of 512, sector ranges inside the disk (overflow-checked), else
// IOERR; a chain the ring rules reject (queue.h) is a device error (NEEDS_RESET). Data moves
// with preadv/pwritev straight between the file and the guest's buffers on the device's own
// thread, woken by the queue-notify eventfd.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/result.h"
#include "runner/devices/virtio/mmio.h"

namespace arrow::runner::virtio {

namespace blk_feature {
inline constexpr uint64_t kSegMax = 1ull << 2, kRo = 1ull << 5, kBlkSize = 1ull << 6,
                          kFlush = 1ull << 9, kDiscard = 1ull << 13, kWriteZeroes = 1ull << 14;
}
namespace blk_req {
inline constexpr uint32_t kIn = 0, kOut = 1, kFlush = 4, kGetId = 8, kDiscard = 11,
                          kWriteZeroes = 13;
}
namespace blk_status {
inline constexpr uint8_t kOk = 0, kIoErr = 1, kUnsupported = 2;
}
inline constexpr uint32_t kBlockDeviceId = 2;
inline constexpr uint16_t kBlockQueueSize = 256;
inline constexpr uint32_t kBlockSegMax = kBlockQueueSize - 2;  // header and status take two
inline constexpr size_t kBlockSerialLen = 20;                    // GET_ID: 20 bytes, NUL-padded
inline constexpr size_t kBlockConfigSize = 60;                   // struct virtio_blk_config

struct BlockStats {
  uint64_t reads = 0, writes = 0, flushes = 0, bytes_read = 0, bytes_written = 0, errors = 0;
};

struct BlockDisk {
  int fd = -1;               // the device does not own it
  uint64_t offset = 0;       // where the disk starts in the file
  uint64_t size = 0;         // bytes; a multiple of 512
  bool read_only = false;
  std::string serial;        // at most 20 bytes; arrow-init finds disks by it
  // What FLUSH calls on fd; fdatasync unless a test counts the calls.
  std::function<int(int)> sync;
};

class VirtioBlock final : public VirtioDevice {
 public:
  static Result<std::unique_ptr<VirtioBlock>> Create(GuestMemory& mem, BlockDisk disk,
                                                     std::function<void()> interrupt);
  ~VirtioBlock() override;

  MmioTransport& transport() { return transport_; }
  int queue_eventfd() const { return kick_fd_; }
  void Start();
  void Stop();
  BlockStats stats();

  // VirtioDevice
  uint32_t device_id() const override { return kBlockDeviceId; }
  uint64_t device_features() const override;
  std::span<const uint8_t> config() const override { return config_; }
  void Activate(uint64_t) override {}
  void Reset() override {}
  void Notify(uint32_t index) override;

  // Serves every available request without waiting (the event thread's work; tests call it).
  void ProcessQueue();

 private:
  VirtioBlock(GuestMemory& mem, BlockDisk disk, std::function<void()> interrupt);
  void Loop();
  // One request (the chain has a writable status byte); returns the bytes written into it.
  uint32_t Serve(const Chain& c);
  uint8_t Transfer(const Chain& c, uint32_t type, uint64_t sector, uint32_t* written);
  uint8_t Fallocate(const Chain& c, uint32_t type);

  MmioTransport transport_;
  BlockDisk disk_;
  uint8_t config_[kBlockConfigSize] = {};
  int kick_fd_ = -1, stop_fd_ = -1;
  BlockStats stats_;
  std::thread thread_;
  std::atomic<bool> started_{false};
};

}  // namespace arrow::runner::virtio
