// One KVM vCPU: its fd, the shared kvm_run page, the boot-time register set-up (in the order
// CPUID2 -> MSRs -> REGS -> FPU -> SREGS -> LAPIC, docs/vmm.md §2) and KVM_RUN itself. Kick() may
// be called from any thread to make a running or about-to-run KVM_RUN return.
#pragma once

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <span>

#include "common/result.h"
#include "runner/vstate/vm.h"

namespace arrow::runner {

class Vcpu {
 public:
  static Result<Vcpu> Create(const Vm& vm, int index);
  Vcpu(Vcpu&& o) noexcept;
  Vcpu& operator=(Vcpu&&) = delete;
  ~Vcpu();

  // 64-bit boot: CPUID patched for `index` of `count`, MSRs, rip=entry, rsi=boot_params,
  // long-mode sregs, LAPIC LINT0/LINT1 (with an in-kernel irqchip).
  Status ConfigureLongMode(const Vm& vm, int count, uint64_t entry, uint64_t boot_params);
  // Real mode at 0:entry (synthetic guests).
  Status ConfigureRealMode(const Vm& vm, int count, uint64_t entry);

  // Current registers (for diagnostics); call when the vCPU is not running.
  Result<kvm_regs> Regs();
  Result<kvm_sregs> Sregs();

  // One KVM_RUN. Returns false with errno set when the ioctl failed.
  bool RunOnce();
  kvm_run* run() { return run_; }
  std::span<uint8_t> run_area() { return {reinterpret_cast<uint8_t*>(run_), run_size_}; }
  int index() const { return index_; }

  // Must be called on the thread that runs this vCPU, before it first runs.
  void BindThread() {
    thread_ = pthread_self();
    bound_.store(true);
  }
  // From any thread: the current or next KVM_RUN returns with EINTR.
  void Kick();
  // The signal Kick() uses; the Vmm installs a no-op handler for it.
  static int KickSignal();

 private:
  Vcpu() = default;
  Status SetCpuid(const Vm& vm, int count);
  Status SetLapic();
  int fd_ = -1, index_ = 0;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
  pthread_t thread_{};
  std::atomic<bool> bound_{false};
};

}  // namespace arrow::runner
