// Page tables, GDT/segments, CPUID patches and the MP table.
#include <gtest/gtest.h>

#include <cstring>

#include "runner/arch/x86_64/cpuid.h"
#include "runner/arch/x86_64/layout.h"
#include "runner/arch/x86_64/mptable.h"
#include "runner/arch/x86_64/page_tables.h"
#include "runner/arch/x86_64/regs.h"

namespace arrow::runner::x86 {
namespace {

uint64_t Read64(GuestMemory& m, uint64_t gpa) {
  auto s = m.Slice(gpa, 8);
  EXPECT_TRUE(s.ok());
  uint64_t v = 0;
  if (s.ok()) std::memcpy(&v, s->data(), 8);
  return v;
}

TEST(PageTablesTest, IdentityMapsFirstGiBWith2MiBPages) {
  auto mem = GuestMemory::Create(2 << 20);
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(WritePageTables(*mem).ok());
  EXPECT_EQ(Read64(*mem, layout::kPml4Start), 0xa003u);
  EXPECT_EQ(Read64(*mem, layout::kPml4Start + 8), 0u);
  EXPECT_EQ(Read64(*mem, layout::kPdptStart), 0xb003u);
  EXPECT_EQ(Read64(*mem, layout::kPdStart), 0x83u);
  EXPECT_EQ(Read64(*mem, layout::kPdStart + 8), (1u << 21) | 0x83u);
  EXPECT_EQ(Read64(*mem, layout::kPdStart + 511 * 8), (511ull << 21) | 0x83u);
}

TEST(RegsTest, GdtEntriesRoundTripIntoSegments) {
  EXPECT_EQ(GdtEntry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
  EXPECT_EQ(GdtEntry(0xc093, 0, 0xfffff), 0x00cf93000000ffffull);
  kvm_segment cs = SegmentFromGdt(GdtEntry(0xa09b, 0, 0xfffff), kCodeSelector);
  EXPECT_EQ(cs.l, 1);
  EXPECT_EQ(cs.db, 0);
  EXPECT_EQ(cs.type, 0xb);
  EXPECT_EQ(cs.present, 1);
  EXPECT_EQ(cs.s, 1);
  EXPECT_EQ(cs.g, 1);
  EXPECT_EQ(cs.limit, 0xffffffffu);
  EXPECT_EQ(cs.selector, 0x10);
  kvm_segment tr = SegmentFromGdt(GdtEntry(0x808b, 0, 0xfffff), kTssSelector);
  EXPECT_EQ(tr.type, 0xb);  // busy 64-bit TSS: TR must be one or entry fails (0x80000021)
  EXPECT_EQ(tr.s, 0);
  EXPECT_EQ(tr.present, 1);
  EXPECT_EQ(tr.unusable, 0);
}

TEST(RegsTest, LongModeSregsAndBootRegs) {
  kvm_sregs s{};
  SetLongModeSregs(s);
  EXPECT_EQ(s.cr3, layout::kPml4Start);
  EXPECT_TRUE(s.cr0 & kCr0Pe);
  EXPECT_TRUE(s.cr0 & kCr0Pg);
  EXPECT_TRUE(s.cr4 & kCr4Pae);
  EXPECT_EQ(s.efer & (kEferLme | kEferLma), kEferLme | kEferLma);
  EXPECT_EQ(s.cs.selector, 0x10);
  EXPECT_EQ(s.ds.selector, 0x18);
  EXPECT_EQ(s.idt.base, layout::kIdtStart);
  EXPECT_EQ(s.idt.limit, 7);
  EXPECT_EQ(s.gdt.base, layout::kGdtStart);
  EXPECT_LE(s.gdt.base + s.gdt.limit + 1, layout::kIdtStart);  // GDT and IDT must not overlap
  kvm_regs r = BootRegs(0x100200, layout::kZeroPageStart);
  EXPECT_EQ(r.rflags, 2u);
  EXPECT_EQ(r.rip, 0x100200u);
  EXPECT_EQ(r.rsi, 0x7000u);
  EXPECT_EQ(r.rsp, 0x8ff0u);
  EXPECT_EQ(r.rbp, 0x8ff0u);
  kvm_fpu f = BootFpu();
  EXPECT_EQ(f.fcw, 0x37f);
  EXPECT_EQ(f.mxcsr, 0x1f80u);
}

TEST(RegsTest, BootMsrs) {
  bool misc = false, mtrr = false, tsc = false;
  for (const auto& m : BootMsrs()) {
    if (m.index == 0x1a0) misc = m.value == 1;
    if (m.index == 0x2ff) mtrr = m.value == 0x806;
    if (m.index == 0x10) tsc = m.value == 0;
  }
  EXPECT_TRUE(misc && mtrr && tsc);
}

kvm_cpuid_entry2 Leaf(uint32_t fn, uint32_t index = 0) {
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.index = index;
  e.eax = e.ebx = e.ecx = e.edx = 0xffffffff;
  return e;
}

TEST(CpuidTest, PatchesPerVcpu) {
  std::vector<kvm_cpuid_entry2> v = {Leaf(1),      Leaf(6),      Leaf(7),      Leaf(0xd),
                                     Leaf(0xb, 0), Leaf(0xb, 1), Leaf(0xb, 2), Leaf(0x40000000)};
  for (auto& e : v)
    if (e.function == 1) {
      e.ecx &= ~((1u << 24) | (1u << 31));
      e.edx &= ~(1u << 28);
    }
  PatchCpuid(v, 2, 4);
  EXPECT_EQ(v[0].ebx >> 24, 2u);                                     // APIC id
  EXPECT_EQ((v[0].ebx >> 16) & 0xff, 4u);                            // logical processors
  EXPECT_TRUE(v[0].ecx & (1u << 24));                                // TSC-deadline
  EXPECT_TRUE(v[0].ecx & (1u << 31));                                // hypervisor
  EXPECT_TRUE(v[0].edx & (1u << 28));                                // HTT with more than one vCPU
  EXPECT_FALSE(v[1].eax & (1u << 1));                                // no turbo
  EXPECT_FALSE(v[1].ecx & (1u << 3));                                // no EPB
  EXPECT_EQ(v[2].edx & ((1u << 22) | (1u << 24) | (1u << 25)), 0u);  // no AMX
  EXPECT_EQ(v[3].eax & ((1u << 17) | (1u << 18)), 0u);
  EXPECT_EQ(v[4].edx, 2u);  // x2APIC id on every subleaf
  EXPECT_EQ(v[4].ebx, 1u);
  EXPECT_EQ(v[4].ecx, 0x100u);
  EXPECT_EQ(v[5].eax, 2u);  // 4 vCPUs: 2 bits of core id
  EXPECT_EQ(v[5].ebx, 4u);
  EXPECT_EQ(v[5].ecx, 0x201u);
  EXPECT_EQ(v[6].ecx, 2u);           // invalid level
  EXPECT_EQ(v[7].eax, 0xffffffffu);  // KVM leaves untouched
  std::vector<kvm_cpuid_entry2> one = {Leaf(1)};
  PatchCpuid(one, 0, 1);
  EXPECT_FALSE(one[0].edx & (1u << 28));  // no HTT on one vCPU
  EXPECT_EQ(one[0].ebx >> 24, 0u);
}

TEST(MptableTest, ChecksumsAndEntries) {
  for (int cpus : {1, 2, 64}) {
    auto t = BuildMptable(cpus, layout::kMptableStart);
    ASSERT_TRUE(t.ok());
    std::string_view fp(t->data(), 16), cfg(t->data() + 16, t->size() - 16);
    EXPECT_EQ(fp.substr(0, 4), "_MP_");
    EXPECT_EQ(MpChecksum(fp), 0);
    uint32_t ptr;
    std::memcpy(&ptr, fp.data() + 4, 4);
    EXPECT_EQ(ptr, layout::kMptableStart + 16);
    EXPECT_EQ(cfg.substr(0, 4), "PCMP");
    uint16_t len, count;
    std::memcpy(&len, cfg.data() + 4, 2);
    std::memcpy(&count, cfg.data() + 34, 2);
    EXPECT_EQ(len, cfg.size());
    EXPECT_EQ(MpChecksum(cfg), 0);
    EXPECT_EQ(count, cpus + 1 + 1 + 24 + 2);
    EXPECT_EQ(cfg[44], 0);                                               // first processor entry
    EXPECT_EQ(static_cast<uint8_t>(cfg[47]), 3);                         // enabled | BSP
    if (cpus > 1) EXPECT_EQ(static_cast<uint8_t>(cfg[44 + 20 + 3]), 1);  // AP: enabled only
    EXPECT_EQ(static_cast<uint8_t>(cfg[44 + 20 * cpus + 8 + 1]), cpus + 1);  // IOAPIC id n+1
    EXPECT_LE(layout::kMptableStart + t->size(), layout::kEbdaEnd);
  }
  EXPECT_FALSE(BuildMptable(0, 0).ok());
  EXPECT_EQ(BuildMptable(65, 0).message(), "mptable: 65 vCPUs; between 1 and 64 are supported");
}

TEST(MemoryTest, BoundsChecks) {
  auto mem = GuestMemory::Create(4 << 20);
  ASSERT_TRUE(mem.ok());
  EXPECT_TRUE(mem->Slice(0, 4 << 20).ok());
  EXPECT_EQ(mem->Slice((4 << 20) - 4, 8).message(),
            "memory: range [0x3ffffc +0x8) is outside [0, 0x400000)");
  EXPECT_EQ(mem->Slice(5 << 20, 1).message(), "memory: guest address 0x500000 is outside RAM");
  EXPECT_FALSE(mem->Slice(16, ~uint64_t{0}).ok());  // overflow
  EXPECT_FALSE(GuestMemory::Create(12345).ok());
  EXPECT_EQ(mem->low_end(), 4u << 20);
}

TEST(MemoryTest, RamAboveTheHoleStartsAt4GiB) {
  auto mem = GuestMemory::Create(layout::kMmioHoleStart + (64 << 20));
  ASSERT_TRUE(mem.ok());
  ASSERT_EQ(mem->regions().size(), 2u);
  EXPECT_EQ(mem->regions()[1].guest_addr, layout::k4GiB);
  EXPECT_FALSE(mem->Slice(layout::kMmioHoleStart, 1).ok());
  EXPECT_TRUE(mem->Slice(layout::k4GiB + (64 << 20) - 1, 1).ok());
}

}  // namespace
}  // namespace arrow::runner::x86
