// CPUID patching; see cpuid.h.
#include "runner/arch/x86_64/cpuid.h"

namespace arrow::runner::x86 {

void PatchCpuid(std::vector<kvm_cpuid_entry2>& entries, int cpu, int count) {
  int bits = 0;
  while ((1 << bits) < count) bits++;
  for (auto& e : entries) {
    switch (e.function) {
      case 1:
        e.ebx = (e.ebx & 0x00ffffff) | (static_cast<uint32_t>(cpu) << 24);
        e.ebx = (e.ebx & 0xff00ffff) | (static_cast<uint32_t>(count) << 16);  // logical CPUs
        e.ecx |= 1u << 24;  // TSC-deadline timer: no ~100 ms LAPIC calibration
        e.ecx |= 1u << 31;  // running under a hypervisor: kvmclock, no PIT calibration
        if (count > 1)
          e.edx |= 1u << 28;
        else
          e.edx &= ~(1u << 28);  // HTT
        break;
      case 6:
        e.eax &= ~(1u << 1);  // turbo boost
        e.ecx &= ~(1u << 3);  // energy performance bias
        break;
      case 7:
        if (e.index == 0) e.edx &= ~((1u << 22) | (1u << 24) | (1u << 25));  // AMX-BF16/TILE/INT8
        break;
      case 0xd:
        if (e.index == 0) e.eax &= ~((1u << 17) | (1u << 18));  // XTILECFG/XTILEDATA state
        break;
      case 0xb:
      case 0x1f:
        e.edx = static_cast<uint32_t>(cpu);  // x2APIC id
        if (e.index == 0) {                  // SMT level: one thread per core
          e.eax = 0;
          e.ebx = 1;
          e.ecx = (1u << 8) | 0;
        } else if (e.index == 1) {  // core level: every vCPU a core
          e.eax = static_cast<uint32_t>(bits);
          e.ebx = static_cast<uint32_t>(count);
          e.ecx = (2u << 8) | 1;
        } else {
          e.eax = e.ebx = 0;
          e.ecx = e.index;
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace arrow::runner::x86
