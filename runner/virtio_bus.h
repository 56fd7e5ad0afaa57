// The built-in VMM's virtio-mmio devices: one 4 KiB window and one interrupt line each, in the
// order they were added (layout.h: window i at kVirtioMmioStart + i * 4 KiB, IRQ
// kVirtioIrqStart + i). Queue notifies reach each device's eventfds through KVM ioeventfds and
// interrupts leave through irqfds; where KVM refuses either, the same paths run through MMIO
// exits and KVM_IRQ_LINE (slower, same behaviour). The guest learns of every device from the
// kernel command line (virtio_mmio.device=4K@BASE:IRQ), which Declarations() returns.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "runner/devices/virtio/block.h"
#include "runner/devices/virtio/net.h"
#include "runner/net/backend.h"
#include "runner/vstate/memory.h"
#include "runner/vstate/vm.h"

namespace arrow::runner {

class VirtioBus {
 public:
  VirtioBus(Vm& vm, GuestMemory& mem) : vm_(vm), mem_(mem) {}
  ~VirtioBus();

  Status AddNet(std::shared_ptr<net::NetBackend> backend);
  Status AddBlock(virtio::BlockDisk disk);
  // " virtio_mmio.device=4K@0x...:N" for every device, in window order.
  std::string Declarations() const;
  // An MMIO exit inside one of the windows: handled (true) or not ours (false).
  bool HandleMmio(uint64_t addr, bool is_write, std::span<uint8_t> data);
  void Start();
  void Stop();  // idempotent; joins the device threads
  // ARROW_VMM_DEBUG: per-device counters and the last device error.
  void Report(FILE* out);

 private:
  struct Slot {
    uint64_t base = 0;
    uint32_t gsi = 0;
    int irq_fd = -1;
    std::unique_ptr<virtio::VirtioNet> net;
    std::unique_ptr<virtio::VirtioBlock> blk;
    virtio::MmioTransport* transport() {
      return net ? &net->transport() : &blk->transport();
    }
  };
  Result<Slot> NewSlot(std::function<void()>* interrupt);

  Vm& vm_;
  GuestMemory& mem_;
  std::vector<Slot> slots_;
};

}  // namespace arrow::runner
