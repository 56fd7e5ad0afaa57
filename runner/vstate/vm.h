// The KVM VM: /dev/kvm, the VM fd, its memory slots and the in-kernel devices (PIC, IOAPIC,
// LAPICs, PIT), created in the order docs/vmm.md §2 prescribes. Owns the file descriptors and
// closes them on destruction; the GuestMemory it maps must outlive it.
#pragma once

#include <linux/kvm.h>

#include <vector>

#include "common/result.h"
#include "runner/vstate/memory.h"

namespace arrow::runner {

struct VmOptions {
  bool irqchip = true;  // in-kernel PIC/IOAPIC/LAPIC + PIT (off: synthetic guests get HLT exits)
};

class Vm {
 public:
  static Result<Vm> Create(const VmOptions& options);
  Vm(Vm&& o) noexcept;
  Vm& operator=(Vm&&) = delete;
  ~Vm();

  // Registers every region of `mem` as a memory slot.
  Status MapMemory(const GuestMemory& mem);
  // Level of an interrupt line of the in-kernel PIC/IOAPIC.
  Status SetIrqLine(uint32_t irq, bool level);
  // A guest write of `datamatch` (4 bytes) to `addr` signals eventfd `fd` inside KVM, without
  // an exit to user space (KVM_IOEVENTFD).
  Status AddIoEventFd(int fd, uint64_t addr, uint32_t datamatch);
  // A write to eventfd `fd` raises interrupt line `gsi` (KVM_IRQFD; edge, like a pulse).
  Status AddIrqFd(int fd, uint32_t gsi);

  int kvm_fd() const { return kvm_fd_; }
  int fd() const { return vm_fd_; }
  size_t run_size() const { return run_size_; }
  bool irqchip() const { return irqchip_; }
  const std::vector<kvm_cpuid_entry2>& supported_cpuid() const { return cpuid_; }

 private:
  Vm() = default;
  int kvm_fd_ = -1, vm_fd_ = -1;
  size_t run_size_ = 0;
  bool irqchip_ = false;
  std::vector<kvm_cpuid_entry2> cpuid_;
};

}  // namespace arrow::runner
