// libFuzzer target: a hostile virtio-net driver. The input is a program of operations on a
// 1 MiB guest: register writes and reads anywhere in the virtio-mmio window, raw writes into
// guest memory (rings, descriptors, buffers), frames from the backend, device processing —
// plus the host-side parsers guest bytes reach next: the loopback guard and the frame stream.
// Sources are compiled into this target with the sanitizers, so any out-of-bounds access of
// guest memory, a ring or a frame is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "runner/devices/virtio/net.h"
#include "runner/fuzz/fuzz_input.h"
#include "runner/net/guard.h"
#include "runner/net/stream.h"

namespace {

using namespace arrow::runner;

class SinkBackend : public net::NetBackend {
 public:
  void AddPollFds(std::vector<pollfd>&, int*, bool) override {}
  void HandlePollFds(std::span<const pollfd>) override {}
  void Send(std::span<const uint8_t> f) override {
    std::vector<uint8_t> reply;
    (void)guard.Check(f, &reply);
    bytes += f.size();
  }
  int mtu() const override { return 1500; }
  std::string Describe() const override { return "fuzz"; }
  net::LoopbackGuard guard;
  size_t bytes = 0;
};

using fuzz::Input;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto created = GuestMemory::Create(1 << 20);
  if (!created.ok()) return 0;
  GuestMemory* mem = &*created;
  auto backend = std::make_shared<SinkBackend>();
  auto dev = virtio::VirtioNet::Create(*mem, backend, [] {});
  if (!dev.ok()) return 0;
  auto& net = **dev;
  net::FrameReader reader;
  Input in{data, size};
  uint8_t op;
  while (in.Take(&op, 1)) {
    switch (op & 7) {  // bits 3..5: the access width of register operations
      case 0: {  // register write
        uint16_t off;
        uint32_t v;
        if (!in.Take(&off, 2) || !in.Take(&v, 4)) return 0;
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        net.transport().Write(off % 0x200, std::span<const uint8_t>(b, 1 + (op >> 3) % 4));
        break;
      }
      case 1: {  // register or config read of 1..8 bytes
        uint16_t off;
        if (!in.Take(&off, 2)) return 0;
        uint8_t b[8];
        net.transport().Read(off % 0x200, std::span<uint8_t>(b, 1 + (op >> 3) % 8));
        break;
      }
      case 2: {  // guest memory write
        if (!in.WriteGuest(*mem, 1u << 20)) return 0;
        break;
      }
      case 3:
      case 7:
        net.ProcessQueues();
        break;
      case 4: {  // a frame from the backend
        uint16_t len;
        if (!in.Take(&len, 2)) return 0;
        len = static_cast<uint16_t>(std::min<size_t>(len, in.n));
        net.DeliverFromBackend({in.p, len});
        in.p += len;
        in.n -= len;
        break;
      }
      case 5: {  // the guard on raw bytes
        uint8_t len;
        if (!in.Take(&len, 1)) return 0;
        len = static_cast<uint8_t>(std::min<size_t>(len, in.n));
        std::vector<uint8_t> reply;
        (void)backend->guard.Check({in.p, len}, &reply);
        in.p += len;
        in.n -= len;
        break;
      }
      case 6: {  // frame-stream bytes (what passt or qemu send)
        uint8_t len;
        if (!in.Take(&len, 1)) return 0;
        len = static_cast<uint8_t>(std::min<size_t>(len, in.n));
        (void)reader.Feed({in.p, len}, [](std::span<const uint8_t>) {});
        in.p += len;
        in.n -= len;
        break;
      }
    }
  }
  return 0;
}
