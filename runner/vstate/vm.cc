// KVM VM creation; see vm.h.
#include "runner/vstate/vm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runner/arch/x86_64/layout.h"
#include "runner/vstate/kvm_abi.h"

namespace arrow::runner {
namespace {

Error KvmErr(const char* what) {
  return Err("kvm: ", what, ": ", std::strerror(errno));
}

Result<std::vector<kvm_cpuid_entry2>> SupportedCpuid(int kvm_fd) {
  for (uint32_t n = 128; n <= 4096; n *= 2) {
    std::vector<uint8_t> buf(sizeof(kvm_abi::CpuidHeader) + n * sizeof(kvm_cpuid_entry2));
    kvm_abi::CpuidHeader h{n, 0};
    std::memcpy(buf.data(), &h, sizeof h);
    // SAFETY: buf holds the 8-byte header followed by room for `n` entries, as nent says.
    if (ioctl(kvm_fd, kvm_abi::kGetSupportedCpuid, buf.data()) == 0) {
      std::memcpy(&h, buf.data(), sizeof h);
      if (h.nent > n) return Err("kvm: KVM_GET_SUPPORTED_CPUID returned too many entries");
      std::vector<kvm_cpuid_entry2> out(h.nent);
      std::memcpy(out.data(), buf.data() + sizeof h, h.nent * sizeof(kvm_cpuid_entry2));
      return out;
    }
    if (errno != E2BIG) return KvmErr("KVM_GET_SUPPORTED_CPUID");
  }
  return Err("kvm: KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

}  // namespace

Result<Vm> Vm::Create(const VmOptions& o) {
  Vm vm;
  vm.kvm_fd_ = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (vm.kvm_fd_ < 0)
    return Err("kvm: cannot open /dev/kvm: ", std::strerror(errno),
               errno == EACCES ? " (add yourself to the 'kvm' group)" : "");
  // SAFETY: KVM_GET_API_VERSION takes no argument.
  int api = ioctl(vm.kvm_fd_, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) return Err("kvm: API version ", std::to_string(api), ", expected 12");
  // SAFETY: KVM_CHECK_EXTENSION takes an integer capability.
  if (ioctl(vm.kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
    return Err("kvm: KVM_CAP_IMMEDIATE_EXIT is missing (needed to stop vCPUs reliably)");
  // SAFETY: KVM_GET_VCPU_MMAP_SIZE takes no argument.
  int rs = ioctl(vm.kvm_fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (rs < static_cast<int>(sizeof(kvm_run))) return KvmErr("KVM_GET_VCPU_MMAP_SIZE");
  vm.run_size_ = static_cast<size_t>(rs);
  auto cpuid = SupportedCpuid(vm.kvm_fd_);
  if (!cpuid) return cpuid.error();
  vm.cpuid_ = std::move(*cpuid);
  // SAFETY: KVM_CREATE_VM takes the machine type (0 = default).
  vm.vm_fd_ = ioctl(vm.kvm_fd_, KVM_CREATE_VM, 0);
  if (vm.vm_fd_ < 0) return KvmErr("KVM_CREATE_VM");
  // SAFETY: integer argument: a 3-page guest-physical range inside the MMIO hole.
  if (ioctl(vm.vm_fd_, KVM_SET_TSS_ADDR, layout::kKvmTssStart) < 0)
    return KvmErr("KVM_SET_TSS_ADDR");
  uint64_t ident = layout::kIdentityMapStart;
  // SAFETY: points at a u64 guest-physical address; before any vCPU exists, as required.
  if (ioctl(vm.vm_fd_, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
    return KvmErr("KVM_SET_IDENTITY_MAP_ADDR");
  if (o.irqchip) {
    // SAFETY: no argument; must precede vCPU creation.
    if (ioctl(vm.vm_fd_, KVM_CREATE_IRQCHIP, 0) < 0) return KvmErr("KVM_CREATE_IRQCHIP");
    kvm_pit_config pit{};
    pit.flags = KVM_PIT_SPEAKER_DUMMY;
    // SAFETY: points at a kvm_pit_config on our stack.
    if (ioctl(vm.vm_fd_, KVM_CREATE_PIT2, &pit) < 0) return KvmErr("KVM_CREATE_PIT2");
    vm.irqchip_ = true;
  }
  return vm;
}

Vm::Vm(Vm&& o) noexcept
    : kvm_fd_(o.kvm_fd_),
      vm_fd_(o.vm_fd_),
      run_size_(o.run_size_),
      irqchip_(o.irqchip_),
      cpuid_(std::move(o.cpuid_)) {
  o.kvm_fd_ = o.vm_fd_ = -1;
}

Vm::~Vm() {
  if (vm_fd_ >= 0) close(vm_fd_);
  if (kvm_fd_ >= 0) close(kvm_fd_);
}

Status Vm::MapMemory(const GuestMemory& mem) {
  uint32_t slot = 0;
  for (const auto& r : mem.regions()) {
    kvm_userspace_memory_region region{};
    region.slot = slot++;
    region.guest_phys_addr = r.guest_addr;
    region.memory_size = r.size;
    region.userspace_addr = reinterpret_cast<uint64_t>(r.host);
    // SAFETY: the host range is GuestMemory's live mapping of exactly r.size bytes; it outlives
    // the VM (the Vmm destroys the VM first).
    if (ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &region) < 0)
      return KvmErr("KVM_SET_USER_MEMORY_REGION");
  }
  return Ok{};
}

Status Vm::SetIrqLine(uint32_t irq, bool level) {
  kvm_irq_level l{};
  l.irq = irq;
  l.level = level ? 1 : 0;
  // SAFETY: points at a kvm_irq_level on our stack.
  if (ioctl(vm_fd_, KVM_IRQ_LINE, &l) < 0) return KvmErr("KVM_IRQ_LINE");
  return Ok{};
}

Status Vm::AddIoEventFd(int fd, uint64_t addr, uint32_t datamatch) {
  kvm_ioeventfd e{};
  e.datamatch = datamatch;
  e.addr = addr;
  e.len = 4;
  e.fd = fd;
  e.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
  // SAFETY: points at a kvm_ioeventfd on our stack; KVM takes its own reference to the
  // eventfd, so the device may close its fd in any order with the VM.
  if (ioctl(vm_fd_, KVM_IOEVENTFD, &e) < 0) return KvmErr("KVM_IOEVENTFD");
  return Ok{};
}

Status Vm::AddIrqFd(int fd, uint32_t gsi) {
  kvm_irqfd i{};
  i.fd = static_cast<uint32_t>(fd);
  i.gsi = gsi;
  // SAFETY: points at a kvm_irqfd on our stack; KVM takes its own reference to the eventfd.
  if (ioctl(vm_fd_, KVM_IRQFD, &i) < 0) return KvmErr("KVM_IRQFD");
  return Ok{};
}

}  // namespace arrow::runner
