// The initial vCPU state of the Linux 64-bit boot protocol (and of the synthetic test guests):
// GDT/IDT in guest memory, segment registers, control registers, general registers, FPU and the
// MSRs every vCPU starts with. Pure functions build the KVM structures so tests can check them;
// vstate/vcpu.cc applies them in the order docs/vmm.md §2 requires.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "runner/vstate/memory.h"

namespace arrow::runner::x86 {

// GDT layout: [0] null, [1] TSS (0x08), [2] __BOOT_CS (0x10), [3] __BOOT_DS (0x18).
inline constexpr uint16_t kTssSelector = 0x08, kCodeSelector = 0x10, kDataSelector = 0x18;
inline constexpr uint64_t kCr0Pe = 1, kCr0Et = 0x10, kCr0Pg = 0x80000000;
inline constexpr uint64_t kCr4Pae = 0x20;
inline constexpr uint64_t kEferLme = 0x100, kEferLma = 0x400;

// flags as in an x86 descriptor's bytes 5-6 (access byte | flags nibble << 12).
uint64_t GdtEntry(uint16_t flags, uint32_t base, uint32_t limit);
kvm_segment SegmentFromGdt(uint64_t entry, uint16_t selector);

// Writes the 4-entry GDT at layout::kGdtStart and a one-entry zero IDT at kIdtStart.
Status WriteGdtIdt(GuestMemory& mem);

// Long mode, paging on (CR3 = PML4), CS 0x10 64-bit, DS..SS 0x18, TR busy TSS.
void SetLongModeSregs(kvm_sregs& s);
// Real mode at CS:IP = 0:entry (synthetic guests).
void SetRealModeSregs(kvm_sregs& s);

kvm_regs BootRegs(uint64_t entry, uint64_t boot_params);
kvm_fpu BootFpu();
struct Msr {
  uint32_t index;
  uint64_t value;
};
std::vector<Msr> BootMsrs();

}  // namespace arrow::runner::x86
