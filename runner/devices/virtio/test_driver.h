// Test helpers: a driver's side of a virtqueue and of the virtio-mmio registers, written the
// way Linux's drivers write them, for the device tests and the fuzz targets' seeds.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <utility>

#include "runner/devices/virtio/mmio.h"
#include "runner/vstate/memory.h"

namespace arrow::runner::virtio::driver {

constexpr uint64_t kDesc = 0x10000, kAvail = 0x11000, kUsed = 0x12000;

struct Desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags, next;
};

// Writes rings in guest memory like a driver does.
class Rings {
 public:
  Rings(GuestMemory& mem, uint64_t desc, uint64_t avail, uint64_t used, uint16_t size)
      : mem_(mem), desc_(desc), avail_(avail), used_(used), size_(size) {}
  void SetDesc(uint16_t i, Desc d) {
    uint8_t b[16];
    std::memcpy(b, &d.addr, 8);
    std::memcpy(b + 8, &d.len, 4);
    std::memcpy(b + 12, &d.flags, 2);
    std::memcpy(b + 14, &d.next, 2);
    ASSERT_TRUE(mem_.Write(desc_ + 16u * i, {reinterpret_cast<char*>(b), 16}).ok());
  }
  // Makes chain `head` available.
  void Offer(uint16_t head) {
    ASSERT_TRUE(mem_.WriteObj<uint16_t>(avail_ + 4 + 2u * (idx_ % size_), head).ok());
    idx_++;
    ASSERT_TRUE(mem_.WriteObj<uint16_t>(avail_ + 2, idx_).ok());
  }
  void SetAvailIdx(uint16_t v) { ASSERT_TRUE(mem_.WriteObj<uint16_t>(avail_ + 2, v).ok()); }
  uint16_t UsedIdx() { return Read<uint16_t>(used_ + 2); }
  std::pair<uint32_t, uint32_t> Used(uint16_t i) {
    return {Read<uint32_t>(used_ + 4 + 8u * (i % size_)), Read<uint32_t>(used_ + 8 + 8u * (i % size_))};
  }
  template <typename T>
  T Read(uint64_t gpa) {
    T v{};
    auto s = mem_.Slice(gpa, sizeof v);
    if (s.ok()) std::memcpy(&v, s->data(), sizeof v);
    return v;
  }

 private:
  GuestMemory& mem_;
  uint64_t desc_, avail_, used_;
  uint16_t size_, idx_ = 0;
};

// Register access helpers, as a driver would do them.
struct Regs {
  MmioTransport& t;
  uint32_t Get(uint64_t off) {
    uint8_t b[4];
    t.Read(off, b);
    uint32_t v;
    std::memcpy(&v, b, 4);
    return v;
  }
  void Set(uint64_t off, uint32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    t.Write(off, b);
  }
  // Negotiates `features`, sets up every queue at fixed addresses, DRIVER_OK.
  void Bring(uint64_t features, uint16_t size = 8) {
    Set(reg::kStatus, 0);
    Set(reg::kStatus, status::kAcknowledge);
    Set(reg::kStatus, status::kAcknowledge | status::kDriver);
    Set(reg::kDriverFeaturesSel, 0);
    Set(reg::kDriverFeatures, static_cast<uint32_t>(features));
    Set(reg::kDriverFeaturesSel, 1);
    Set(reg::kDriverFeatures, static_cast<uint32_t>(features >> 32));
    Set(reg::kStatus, status::kAcknowledge | status::kDriver | status::kFeaturesOk);
    for (uint32_t q = 0; q < t.num_queues(); q++) {
      Set(reg::kQueueSel, q);
      Set(reg::kQueueNum, size);
      Set(reg::kQueueDescLow, static_cast<uint32_t>(kDesc + q * 0x4000));
      Set(reg::kQueueDriverLow, static_cast<uint32_t>(kAvail + q * 0x4000));
      Set(reg::kQueueDeviceLow, static_cast<uint32_t>(kUsed + q * 0x4000));
      Set(reg::kQueueReady, 1);
    }
    Set(reg::kStatus, status::kAcknowledge | status::kDriver | status::kFeaturesOk | status::kDriverOk);
  }
};

}  // namespace arrow::runner::virtio::driver
