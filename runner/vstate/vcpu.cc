// vCPU set-up and execution; see vcpu.h.
#include "runner/vstate/vcpu.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "runner/arch/x86_64/cpuid.h"
#include "runner/arch/x86_64/regs.h"
#include "runner/vstate/kvm_abi.h"

namespace arrow::runner {
namespace {

Error VcpuErr(int index, const char* what) {
  return Err("vcpu ", std::to_string(index), ": ", what, ": ", std::strerror(errno));
}

}  // namespace

int Vcpu::KickSignal() {
  return SIGRTMIN;
}

Result<Vcpu> Vcpu::Create(const Vm& vm, int index) {
  Vcpu v;
  v.index_ = index;
  // SAFETY: integer argument: the vCPU (and APIC) id.
  v.fd_ = ioctl(vm.fd(), KVM_CREATE_VCPU, index);
  if (v.fd_ < 0) return VcpuErr(index, "KVM_CREATE_VCPU");
  // SAFETY: maps the vCPU's kvm_run area of the size KVM reported; unmapped in the destructor.
  void* p = mmap(nullptr, vm.run_size(), PROT_READ | PROT_WRITE, MAP_SHARED, v.fd_, 0);
  if (p == MAP_FAILED) return VcpuErr(index, "mmap of kvm_run");
  v.run_ = static_cast<kvm_run*>(p);
  v.run_size_ = vm.run_size();
  return v;
}

Vcpu::Vcpu(Vcpu&& o) noexcept
    : fd_(o.fd_),
      index_(o.index_),
      run_(o.run_),
      run_size_(o.run_size_),
      thread_(o.thread_),
      bound_(o.bound_.load()) {
  o.fd_ = -1;
  o.run_ = nullptr;
}

Vcpu::~Vcpu() {
  // SAFETY: run_/run_size_ are the mapping made in Create; no thread runs this vCPU any more.
  if (run_) munmap(run_, run_size_);
  if (fd_ >= 0) close(fd_);
}

Status Vcpu::SetCpuid(const Vm& vm, int count) {
  std::vector<kvm_cpuid_entry2> entries = vm.supported_cpuid();
  x86::PatchCpuid(entries, index_, count);
  std::vector<uint8_t> buf(sizeof(kvm_abi::CpuidHeader) +
                           entries.size() * sizeof(kvm_cpuid_entry2));
  kvm_abi::CpuidHeader h{static_cast<uint32_t>(entries.size()), 0};
  std::memcpy(buf.data(), &h, sizeof h);
  std::memcpy(buf.data() + sizeof h, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  // SAFETY: buf holds the 8-byte header and exactly nent entries (C layout, see kvm_abi.h).
  if (ioctl(fd_, kvm_abi::kSetCpuid2, buf.data()) < 0) return VcpuErr(index_, "KVM_SET_CPUID2");
  return Ok{};
}

Status Vcpu::SetLapic() {
  kvm_lapic_state lapic{};
  // SAFETY: points at a kvm_lapic_state on our stack (get, then set).
  if (ioctl(fd_, KVM_GET_LAPIC, &lapic) < 0) return VcpuErr(index_, "KVM_GET_LAPIC");
  auto set_mode = [&](size_t reg, uint32_t mode) {
    uint32_t v;
    std::memcpy(&v, lapic.regs + reg, 4);
    v = (v & ~0x700u) | (mode << 8);
    std::memcpy(lapic.regs + reg, &v, 4);
  };
  set_mode(0x350, 7);  // LVT0: ExtINT (the PIC)
  set_mode(0x360, 4);  // LVT1: NMI
  // SAFETY: as above.
  if (ioctl(fd_, KVM_SET_LAPIC, &lapic) < 0) return VcpuErr(index_, "KVM_SET_LAPIC");
  return Ok{};
}

Status Vcpu::ConfigureLongMode(const Vm& vm, int count, uint64_t entry, uint64_t boot_params) {
  ARROW_TRY(SetCpuid(vm, count));  // before SREGS: EFER.LME needs long mode in CPUID
  auto msrs = x86::BootMsrs();
  std::vector<uint8_t> buf(sizeof(kvm_abi::MsrsHeader) + msrs.size() * sizeof(kvm_msr_entry));
  kvm_abi::MsrsHeader h{static_cast<uint32_t>(msrs.size()), 0};
  std::memcpy(buf.data(), &h, sizeof h);
  for (size_t i = 0; i < msrs.size(); i++) {
    kvm_msr_entry e{};
    e.index = msrs[i].index;
    e.data = msrs[i].value;
    std::memcpy(buf.data() + sizeof h + i * sizeof e, &e, sizeof e);
  }
  // SAFETY: buf holds the 8-byte header and exactly nmsrs entries (C layout, see kvm_abi.h).
  // Returns how many MSRs were set.
  int set = ioctl(fd_, kvm_abi::kSetMsrs, buf.data());
  if (set < 0) return VcpuErr(index_, "KVM_SET_MSRS");
  if (static_cast<size_t>(set) != msrs.size()) {
    char idx[16];
    snprintf(idx, sizeof idx, "0x%x", msrs[static_cast<size_t>(set)].index);
    return Err("vcpu ", std::to_string(index_), ": KVM_SET_MSRS: KVM refused MSR ", idx);
  }
  kvm_regs regs = x86::BootRegs(entry, boot_params);
  // SAFETY: points at a kvm_regs on our stack.
  if (ioctl(fd_, KVM_SET_REGS, &regs) < 0) return VcpuErr(index_, "KVM_SET_REGS");
  kvm_fpu fpu = x86::BootFpu();
  // SAFETY: points at a kvm_fpu on our stack.
  if (ioctl(fd_, KVM_SET_FPU, &fpu) < 0) return VcpuErr(index_, "KVM_SET_FPU");
  kvm_sregs sregs{};
  // SAFETY: points at a kvm_sregs on our stack (get, patch, set).
  if (ioctl(fd_, KVM_GET_SREGS, &sregs) < 0) return VcpuErr(index_, "KVM_GET_SREGS");
  x86::SetLongModeSregs(sregs);
  // SAFETY: as above.
  if (ioctl(fd_, KVM_SET_SREGS, &sregs) < 0) return VcpuErr(index_, "KVM_SET_SREGS");
  if (vm.irqchip()) ARROW_TRY(SetLapic());
  return Ok{};
}

Status Vcpu::ConfigureRealMode(const Vm& vm, int count, uint64_t entry) {
  ARROW_TRY(SetCpuid(vm, count));
  kvm_sregs sregs{};
  // SAFETY: points at a kvm_sregs on our stack (get, patch, set).
  if (ioctl(fd_, KVM_GET_SREGS, &sregs) < 0) return VcpuErr(index_, "KVM_GET_SREGS");
  x86::SetRealModeSregs(sregs);
  // SAFETY: as above.
  if (ioctl(fd_, KVM_SET_SREGS, &sregs) < 0) return VcpuErr(index_, "KVM_SET_SREGS");
  kvm_regs regs{};
  regs.rflags = 0x2;
  regs.rip = entry;
  regs.rsp = 0x8000;
  // SAFETY: points at a kvm_regs on our stack.
  if (ioctl(fd_, KVM_SET_REGS, &regs) < 0) return VcpuErr(index_, "KVM_SET_REGS");
  if (vm.irqchip()) ARROW_TRY(SetLapic());
  return Ok{};
}

Result<kvm_regs> Vcpu::Regs() {
  kvm_regs r{};
  // SAFETY: points at a kvm_regs on our stack.
  if (ioctl(fd_, KVM_GET_REGS, &r) < 0) return VcpuErr(index_, "KVM_GET_REGS");
  return r;
}

Result<kvm_sregs> Vcpu::Sregs() {
  kvm_sregs s{};
  // SAFETY: points at a kvm_sregs on our stack.
  if (ioctl(fd_, KVM_GET_SREGS, &s) < 0) return VcpuErr(index_, "KVM_GET_SREGS");
  return s;
}

bool Vcpu::RunOnce() {
  // SAFETY: KVM_RUN takes no argument; results land in the kvm_run mapping.
  return ioctl(fd_, KVM_RUN, 0) == 0;
}

void Vcpu::Kick() {
  // SAFETY: run_ is this vCPU's live kvm_run mapping; immediate_exit is the documented way for
  // another thread to make KVM_RUN return (KVM_CAP_IMMEDIATE_EXIT).
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  if (bound_.load()) pthread_kill(thread_, KickSignal());
}

}  // namespace arrow::runner
