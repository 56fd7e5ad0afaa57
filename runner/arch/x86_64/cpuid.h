// CPUID as the guest sees it: KVM's supported set, patched per vCPU (docs/vmm.md §2).
//
// Leaf 1 gets the APIC id, TSC-deadline, the hypervisor bit and HTT; leaf 6 loses turbo/EPB;
// leaves 0xB/0x1F report the x2APIC id and a flat topology (one thread per core); AMX is masked
// so a guest never half-enables it (#GP at XSETBV on hosts without guest permission). The KVM
// leaves 0x4000_0000+ are kept: without them there is no kvmclock.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace arrow::runner::x86 {

void PatchCpuid(std::vector<kvm_cpuid_entry2>& entries, int cpu_index, int cpu_count);

}  // namespace arrow::runner::x86
