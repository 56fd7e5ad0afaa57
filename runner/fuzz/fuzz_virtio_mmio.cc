// libFuzzer target: the virtio-mmio transport and the split virtqueue on their own, under a
// generic device whose shape the input picks (device id, features, config size, 1-4 queues of
// any maximum size). A hostile driver program writes and reads registers at any offset and
// width, scribbles over guest memory, and notifies queues; the device pops every chain and
// returns it with a guest-chosen length. Checks beyond "no sanitizer report":
//  - reads outside the registers and the config space return zeros (no host bytes leak);
//  - a used length never exceeds the chain's writable bytes;
//  - after a reset (status 0), the device is not running.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "runner/devices/virtio/mmio.h"
#include "runner/fuzz/fuzz_input.h"

namespace {

using namespace arrow::runner;
using fuzz::Input;

class FuzzDevice : public virtio::VirtioDevice {
 public:
  FuzzDevice(uint32_t id, uint64_t features, size_t config) : id_(id), features_(features), config_(config, 0x5a) {}
  void Attach(virtio::MmioTransport* t) { t_ = t; }
  uint32_t device_id() const override { return id_; }
  uint64_t device_features() const override { return features_ | virtio::kFeatureVersion1; }
  std::span<const uint8_t> config() const override { return config_; }
  void Activate(uint64_t) override {}
  void Reset() override {}
  void Notify(uint32_t index) override { pending_ |= 1u << (index & 31); }

  // Device-thread work: every notified queue drained, each chain returned with `len`.
  void Process(uint32_t len, uint64_t cap) {
    std::lock_guard lock(t_->mu());
    for (size_t q = 0; q < t_->num_queues(); q++) {
      if (!(pending_ & (1u << q)) || !t_->running()) continue;
      for (int i = 0; i < 64; i++) {
        auto c = t_->queue(q).Pop(t_->mem(), cap);
        if (!c.ok()) {
          t_->DeviceError(c.message());
          break;
        }
        if (!*c) break;
        const Chain& chain = **c;
        std::vector<uint8_t> bytes;
        chain.ReadInto(bytes);
        if (bytes.size() != chain.readable_len) abort();
        const uint8_t fill[16] = {0xd0};
        const size_t wrote = chain.WriteAt(len % 64, fill);
        if (wrote > chain.writable_len) abort();
        const uint32_t used = static_cast<uint32_t>(std::min<uint64_t>(len, chain.writable_len));
        t_->queue(q).PushUsed(chain.head, used);
        t_->SignalUsed();
      }
    }
    pending_ = 0;
  }

 private:
  using Chain = virtio::Chain;
  uint32_t id_;
  uint64_t features_;
  std::vector<uint8_t> config_;
  virtio::MmioTransport* t_ = nullptr;
  uint32_t pending_ = 0;
};

bool IsRegister(uint64_t off) {
  switch (off) {
    case 0x000: case 0x004: case 0x008: case 0x00c: case 0x010: case 0x014: case 0x020:
    case 0x024: case 0x030: case 0x034: case 0x038: case 0x044: case 0x050: case 0x060:
    case 0x064: case 0x070: case 0x080: case 0x084: case 0x090: case 0x094: case 0x0a0:
    case 0x0a4: case 0x0fc:
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto mem = GuestMemory::Create(1 << 20);
  if (!mem.ok()) return 0;
  Input in{data, size};
  uint8_t shape[4];
  if (!in.Take(shape, sizeof shape)) return 0;
  const size_t nq = 1 + (shape[0] & 3);
  std::vector<uint16_t> sizes;
  for (size_t i = 0; i < nq; i++) sizes.push_back(static_cast<uint16_t>(1u << (shape[1] >> (2 * i) & 7)) );
  const size_t config = shape[2] % 64;
  FuzzDevice dev(shape[3], (uint64_t{shape[3]} << 5) | (uint64_t{shape[2]} << 40), config);
  virtio::MmioTransport t(*mem, dev, sizes, [] {});
  dev.Attach(&t);
  uint8_t op;
  while (in.Take(&op, 1)) {
    const size_t width = 1 + (op >> 2) % 8;
    switch (op & 3) {
      case 0: {
        uint16_t off;
        uint8_t v[8];
        if (!in.Take(&off, 2) || !in.Take(v, 8)) return 0;
        t.Write(off % 0x1000, std::span<const uint8_t>(v, width));
        if ((off % 0x1000) == virtio::reg::kStatus && width == 4 && !(v[0] | v[1] | v[2] | v[3])) {
          std::lock_guard lock(t.mu());
          if (t.running() || t.device_status() != 0) abort();  // reset must stop the device
        }
        break;
      }
      case 1: {
        uint16_t off16;
        if (!in.Take(&off16, 2)) return 0;
        const uint64_t off = off16 % 0x1000;
        uint8_t b[8];
        std::memset(b, 0xee, sizeof b);
        t.Read(off, std::span<uint8_t>(b, width));
        const bool in_config = off >= virtio::reg::kConfig && off + width <= virtio::reg::kConfig + config;
        const bool reg = IsRegister(off) && width == 4;
        if (!in_config && !reg)
          for (size_t i = 0; i < width; i++)
            if (b[i] != 0) abort();  // nothing but zeros outside the registers and config
        break;
      }
      case 2: {
        if (!in.WriteGuest(*mem, 1u << 20)) return 0;
        break;
      }
      case 3: {
        uint32_t len;
        if (!in.Take(&len, 4)) return 0;
        dev.Process(len, 1u << (op >> 4));
        break;
      }
    }
  }
  return 0;
}
