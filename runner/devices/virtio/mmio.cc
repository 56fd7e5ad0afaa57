// virtio-mmio version 2 register file; see mmio.h.
#include "runner/devices/virtio/mmio.h"

#include <cstring>

namespace arrow::runner::virtio {

MmioTransport::MmioTransport(GuestMemory& mem, VirtioDevice& device,
                             std::vector<uint16_t> queue_sizes, std::function<void()> interrupt)
    : mem_(mem), device_(device), interrupt_(std::move(interrupt)) {
  for (uint16_t s : queue_sizes) queues_.emplace_back(s);
}

Queue* MmioTransport::Selected() {
  return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

void MmioTransport::Read(uint64_t offset, std::span<uint8_t> data) {
  std::memset(data.data(), 0, data.size());
  std::lock_guard lock(mu_);
  if (offset >= reg::kConfig) {
    auto cfg = device_.config();
    uint64_t off = offset - reg::kConfig;
    if (off <= cfg.size() && data.size() <= cfg.size() - off)
      std::memcpy(data.data(), cfg.data() + off, data.size());
    return;
  }
  if (data.size() != 4 || offset % 4) return;
  uint32_t v = ReadReg(offset);
  std::memcpy(data.data(), &v, 4);
}

void MmioTransport::Write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  if (offset >= reg::kConfig) return;  // net and blk config spaces are read-only
  if (data.size() != 4 || offset % 4) return;
  uint32_t v;
  std::memcpy(&v, data.data(), 4);
  WriteReg(offset, v);
}

uint32_t MmioTransport::ReadReg(uint64_t offset) {
  Queue* q = Selected();
  switch (offset) {
    case reg::kMagic:
      return kMagicValue;
    case reg::kVersion:
      return 2;
    case reg::kDeviceId:
      return device_.device_id();
    case reg::kVendorId:
      return kVendor;
    case reg::kDeviceFeatures:
      return features_sel_ == 0   ? static_cast<uint32_t>(device_.device_features())
             : features_sel_ == 1 ? static_cast<uint32_t>(device_.device_features() >> 32)
                                  : 0;
    case reg::kQueueNumMax:
      return q ? q->max_size() : 0;
    case reg::kQueueReady:
      return q && q->ready ? 1 : 0;
    case reg::kInterruptStatus:
      return interrupt_status_;
    case reg::kStatus:
      return status_;
    case reg::kConfigGeneration:
      return 0;  // the config space never changes under the driver
    default:
      return 0;
  }
}

void MmioTransport::WriteReg(uint64_t offset, uint32_t v) {
  Queue* q = Selected();
  // Queue registers may only change while the driver sets the device up (before DRIVER_OK)
  // and while that queue is not enabled (§4.2.2.2).
  const bool queue_writable =
      q && !q->ready && (status_ & status::kDriverOk) == 0 && (status_ & status::kFailed) == 0;
  auto set_low = [](uint64_t& a, uint32_t x) { a = (a & ~0xffffffffull) | x; };
  auto set_high = [](uint64_t& a, uint32_t x) { a = (a & 0xffffffffull) | (uint64_t{x} << 32); };
  switch (offset) {
    case reg::kDeviceFeaturesSel:
      features_sel_ = v;
      break;
    case reg::kDriverFeaturesSel:
      driver_features_sel_ = v;
      break;
    case reg::kDriverFeatures:
      if (status_ & status::kFeaturesOk) break;  // frozen once accepted
      if (driver_features_sel_ == 0) set_low(driver_features_, v);
      if (driver_features_sel_ == 1) set_high(driver_features_, v);
      break;
    case reg::kQueueSel:
      queue_sel_ = v;
      break;
    case reg::kQueueNum:
      if (queue_writable) q->size = static_cast<uint16_t>(v > 0xffff ? 0 : v);
      break;
    case reg::kQueueDescLow:
      if (queue_writable) set_low(q->desc_addr, v);
      break;
    case reg::kQueueDescHigh:
      if (queue_writable) set_high(q->desc_addr, v);
      break;
    case reg::kQueueDriverLow:
      if (queue_writable) set_low(q->avail_addr, v);
      break;
    case reg::kQueueDriverHigh:
      if (queue_writable) set_high(q->avail_addr, v);
      break;
    case reg::kQueueDeviceLow:
      if (queue_writable) set_low(q->used_addr, v);
      break;
    case reg::kQueueDeviceHigh:
      if (queue_writable) set_high(q->used_addr, v);
      break;
    case reg::kQueueReady:
      if (!q) break;
      if (v == 0) {
        q->ready = false;  // allowed before DRIVER_OK; the queue is re-validated when re-enabled
      } else if (queue_writable) {
        if (auto st = q->Activate(mem_); !st) {
          DeviceError("queue " + std::to_string(queue_sel_) + ": " + st.message());
          break;
        }
        q->ready = true;
      }
      break;
    case reg::kQueueNotify:
      if (running_ && v < queues_.size()) device_.Notify(v);
      break;
    case reg::kInterruptAck:
      interrupt_status_ &= ~v;
      break;
    case reg::kStatus:
      WriteStatus(v);
      break;
    default:
      break;  // read-only or unknown registers: writes are dropped
  }
}

void MmioTransport::WriteStatus(uint32_t v) {
  if (v == 0) {
    ResetLocked();
    return;
  }
  // The driver only ever adds bits (§2.1.2); anything else is ignored.
  if ((v & status_) != status_) return;
  const uint32_t added = v & ~status_;
  if (added & status::kFeaturesOk) {
    const uint64_t offered = device_.device_features();
    if ((driver_features_ & ~offered) != 0 || (driver_features_ & kFeatureVersion1) == 0) {
      v &= ~status::kFeaturesOk;  // not accepted: the driver sees FEATURES_OK unset and fails
    }
  }
  status_ = v;
  if ((added & status::kDriverOk) && (status_ & status::kFeaturesOk) &&
      (status_ & status::kNeedsReset) == 0) {
    for (size_t i = 0; i < queues_.size(); i++) {
      if (!queues_[i].ready) {
        DeviceError("DRIVER_OK with queue " + std::to_string(i) + " not ready");
        return;
      }
    }
    running_ = true;
    device_.Activate(driver_features_);
  }
}

void MmioTransport::ResetLocked() {
  generation_++;
  if (running_) device_.Reset();
  running_ = false;
  status_ = 0;
  driver_features_ = 0;
  features_sel_ = driver_features_sel_ = queue_sel_ = 0;
  interrupt_status_ = 0;
  for (auto& q : queues_) q.Reset();
}

void MmioTransport::SignalUsed() {
  interrupt_status_ |= kInterruptUsedBuffer;
  interrupt_();
}

void MmioTransport::DeviceError(const std::string& why) {
  last_error_ = why;
  if (running_) device_.Reset();
  running_ = false;
  status_ |= status::kNeedsReset;
  interrupt_status_ |= kInterruptConfigChange;
  interrupt_();
}

}  // namespace arrow::runner::virtio
