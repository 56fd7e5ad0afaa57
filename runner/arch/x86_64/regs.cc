// Initial vCPU register state; see regs.h.
#include "runner/arch/x86_64/regs.h"

#include "runner/arch/x86_64/layout.h"

namespace arrow::runner::x86 {

uint64_t GdtEntry(uint16_t flags, uint32_t base, uint32_t limit) {
  return ((uint64_t{base} & 0xff000000) << 32) | ((uint64_t{base} & 0x00ffffff) << 16) |
         (uint64_t{limit} & 0xffff) | ((uint64_t{limit} & 0xf0000) << 32) |
         ((uint64_t{flags} & 0xf0ff) << 40);
}

kvm_segment SegmentFromGdt(uint64_t e, uint16_t selector) {
  kvm_segment s{};
  s.base = ((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24);
  uint32_t limit = static_cast<uint32_t>((e & 0xffff) | (((e >> 48) & 0xf) << 16));
  s.g = (e >> 55) & 1;
  s.limit = s.g ? (limit << 12) | 0xfff : limit;
  s.selector = selector;
  s.type = (e >> 40) & 0xf;
  s.s = (e >> 44) & 1;
  s.dpl = (e >> 45) & 3;
  s.present = (e >> 47) & 1;
  s.avl = (e >> 52) & 1;
  s.l = (e >> 53) & 1;
  s.db = (e >> 54) & 1;
  s.unusable = s.present ? 0 : 1;
  return s;
}

namespace {
const uint64_t kGdt[4] = {
    0, GdtEntry(0x808b, 0, 0xfffff),  // TSS: present, busy 64-bit TSS (TR must be valid)
    GdtEntry(0xa09b, 0, 0xfffff),     // code: present, execute/read, L=1, G=1
    GdtEntry(0xc093, 0, 0xfffff),     // data: present, read/write, D/B=1, G=1
};
}  // namespace

Status WriteGdtIdt(GuestMemory& mem) {
  for (int i = 0; i < 4; i++) ARROW_TRY(mem.WriteObj(layout::kGdtStart + i * 8, kGdt[i]));
  // A zero IDT (limit 7): an exception before the kernel loads its own triple-faults, which KVM
  // reports as KVM_EXIT_SHUTDOWN, instead of running garbage.
  return mem.WriteObj(layout::kIdtStart, uint64_t{0});
}

void SetLongModeSregs(kvm_sregs& s) {
  s.gdt.base = layout::kGdtStart;
  s.gdt.limit = sizeof kGdt - 1;
  s.idt.base = layout::kIdtStart;
  s.idt.limit = 7;
  s.cs = SegmentFromGdt(kGdt[2], kCodeSelector);
  s.ds = s.es = s.fs = s.gs = s.ss = SegmentFromGdt(kGdt[3], kDataSelector);
  s.tr = SegmentFromGdt(kGdt[1], kTssSelector);
  s.cr3 = layout::kPml4Start;
  s.cr4 |= kCr4Pae;
  s.cr0 |= kCr0Pe | kCr0Pg | kCr0Et;
  s.efer |= kEferLme | kEferLma;
}

void SetRealModeSregs(kvm_sregs& s) {
  for (kvm_segment* seg : {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss}) {
    seg->base = 0;
    seg->selector = 0;
  }
}

kvm_regs BootRegs(uint64_t entry, uint64_t boot_params) {
  kvm_regs r{};
  r.rflags = 0x2;
  r.rip = entry;
  r.rsi = boot_params;
  r.rsp = r.rbp = layout::kBootStackPointer;
  return r;
}

kvm_fpu BootFpu() {
  kvm_fpu f{};
  f.fcw = 0x37f;
  f.mxcsr = 0x1f80;
  return f;
}

std::vector<Msr> BootMsrs() {
  return {
      {0x174, 0},      {0x175, 0}, {0x176, 0},  // SYSENTER_CS/ESP/EIP
      {0xc0000081, 0},                          // STAR
      {0xc0000082, 0},                          // LSTAR
      {0xc0000083, 0},                          // CSTAR
      {0xc0000084, 0},                          // SYSCALL_MASK
      {0xc0000102, 0},                          // KERNEL_GS_BASE
      {0x10, 0},                                // IA32_TSC: equal on every vCPU
      {0x1a0, 1},                               // MISC_ENABLE: fast strings
      {0x2ff, 0x806},                           // MTRRdefType: enabled, write-back
  };
}

}  // namespace arrow::runner::x86
