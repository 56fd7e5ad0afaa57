// ELF vmlinux parsing and load planning against synthetic ELF files: placement, entry, the PVH
// note, overlap and RAM checks, and hostile headers that must be rejected with a clear message.
#include "runner/arch/x86_64/vmlinux.h"

#include <gtest/gtest.h>

#include "runner/arch/x86_64/layout.h"
#include "runner/testing/elf_image.h"

namespace arrow::runner::x86 {
namespace {

using testing::ElfNote;
using testing::ElfSegment;
using testing::MakeElf;

constexpr uint64_t k16M = 0x1000000;

// The shape of a real vmlinux: text at 16 MiB, data after it, a bss-like tail, a PVH note.
std::vector<ElfSegment> KernelLike() {
  return {{1, k16M, std::string(0x3000, '\x90'), 0},
          {1, k16M + 0x200000, std::string(0x100, 'd'), 0x5000},
          {4, 0, ElfNote(std::string("Xen\0", 4), 18, std::string(4, '\0')), 0}};
}

void SetLe(std::string& f, size_t off, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; i++) f[off + i] = static_cast<char>(v >> (8 * i));
}

TEST(Vmlinux, ParsesSegmentsEntryAndPvhNote) {
  const std::string f = MakeElf(k16M + 0x10, KernelLike());
  ASSERT_TRUE(IsElf(f));
  auto k = ParseVmlinux(f);
  ASSERT_TRUE(k.ok()) << k.message();
  EXPECT_EQ(k->entry, k16M + 0x10);
  ASSERT_EQ(k->segments.size(), 2u);
  EXPECT_EQ(k->segments[0].paddr, k16M);
  EXPECT_EQ(k->segments[0].data, std::string(0x3000, '\x90'));
  EXPECT_EQ(k->segments[1].paddr, k16M + 0x200000);
  EXPECT_EQ(k->segments[1].memsz, 0x5000u);
  EXPECT_EQ(k->segments[1].data.size(), 0x100u);
  EXPECT_EQ(k->start, k16M);
  EXPECT_EQ(k->end, k16M + 0x205000);
  EXPECT_TRUE(k->pvh_note);
  // Without the note a vmlinux still loads here (qemu is the one that needs it).
  auto segs = KernelLike();
  segs.pop_back();
  auto bare = ParseVmlinux(MakeElf(k16M, segs));
  ASSERT_TRUE(bare.ok()) << bare.message();
  EXPECT_FALSE(bare->pvh_note);
  // Segments given out of order are sorted by address.
  std::swap(segs[0], segs[1]);
  auto swapped = ParseVmlinux(MakeElf(k16M, segs));
  ASSERT_TRUE(swapped.ok()) << swapped.message();
  EXPECT_EQ(swapped->segments[0].paddr, k16M);
}

TEST(Vmlinux, PlansTheInitrdAboveTheKernelAndBelowItsLimit) {
  auto k = ParseVmlinux(MakeElf(k16M, KernelLike()));
  ASSERT_TRUE(k.ok());
  auto p = PlanVmlinuxLoad(*k, 128ull << 20, 5 << 20, 100);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->entry, k16M);
  EXPECT_EQ(p->load_addr, k16M);
  EXPECT_EQ(p->initrd_addr % 4096, 0u);
  EXPECT_GE(p->initrd_addr, k->end);
  EXPECT_LE(p->initrd_addr + (5 << 20), 128ull << 20);
  // RAM above 2 GiB: the initrd stays below initrd_addr_max.
  auto high = PlanVmlinuxLoad(*k, 3ull << 30, 5 << 20, 100);
  ASSERT_TRUE(high.ok());
  EXPECT_LE(high->initrd_addr + (5 << 20), kVmlinuxInitrdAddrMax + 1);

  EXPECT_EQ(PlanVmlinuxLoad(*k, 16ull << 20, 0, 10).message(),
            "vmlinux: the kernel needs RAM up to 0x1205000 but low RAM ends at 0x1000000: give "
            "the guest more memory");
  EXPECT_NE(PlanVmlinuxLoad(*k, 24ull << 20, 8 << 20, 10).message().find("would overlap the kernel"),
            std::string::npos);
  EXPECT_EQ(PlanVmlinuxLoad(*k, 128ull << 20, 0, 2048).message(),
            "vmlinux: kernel command line is 2048 bytes; the limit is 2047");
}

TEST(Vmlinux, SetupHeaderCarriesWhatTheKernelReads) {
  const std::string h = VmlinuxSetupHeader();
  ZeroPageInputs in;
  in.cmdline_addr = layout::kCmdlineStart;
  in.initrd_addr = 0x7000000;
  in.initrd_size = 0x1234;
  auto zp = BuildZeroPage(h, in);
  ASSERT_TRUE(zp.ok()) << zp.message();
  EXPECT_EQ(GetField(*zp, bp::kBootFlag, 2), kBootFlagMagic);
  EXPECT_EQ(GetField(*zp, bp::kHeader, 4), kHdrSMagic);
  EXPECT_EQ(GetField(*zp, bp::kTypeOfLoader, 1), 0xffu);
  EXPECT_EQ(GetField(*zp, bp::kXLoadFlags, 2) & kXlfKernel64, kXlfKernel64);
  EXPECT_EQ(GetField(*zp, bp::kKernelAlignment, 4), k16M);
  EXPECT_EQ(GetField(*zp, bp::kCmdLinePtr, 4), layout::kCmdlineStart);
  EXPECT_EQ(GetField(*zp, bp::kRamdiskImage, 4), 0x7000000u);
  EXPECT_EQ(GetField(*zp, bp::kRamdiskSize, 4), 0x1234u);
  EXPECT_EQ(GetField(*zp, bp::kSentinel, 1), 0u);
}

TEST(Vmlinux, RejectsHostileFiles) {
  const std::string good = MakeElf(k16M, KernelLike());
  auto with = [&](size_t off, uint64_t v, size_t width) {
    std::string f = good;
    SetLe(f, off, v, width);
    return ParseVmlinux(f).message();
  };
  const size_t ph0 = 64, ph1 = 64 + 56;
  EXPECT_EQ(ParseVmlinux("\x7f" "ELF").message(), "vmlinux: not an ELF file");
  EXPECT_EQ(with(4, 1, 1), "vmlinux: not a 64-bit little-endian ELF file (class 1, data 1)");
  EXPECT_EQ(with(16, 3, 2), "vmlinux: ELF type 3 is not an executable");
  EXPECT_EQ(with(18, 3, 2), "vmlinux: ELF machine 3 is not x86-64");
  EXPECT_EQ(with(54, 32, 2), "vmlinux: program header size 32, expected 56");
  EXPECT_EQ(with(56, 0, 2), "vmlinux: 0 program headers (1 to 64 are accepted)");
  EXPECT_EQ(with(56, 0xffff, 2), "vmlinux: 65535 program headers (1 to 64 are accepted)");
  EXPECT_NE(with(32, good.size() - 100, 8).find("run past the end of the file"), std::string::npos);
  // A segment whose bytes run past the end of the file, or whose offset wraps.
  EXPECT_NE(with(ph0 + 32, good.size(), 8).find("run past the end of the file"), std::string::npos);
  EXPECT_NE(with(ph0 + 8, ~uint64_t{0} - 8, 8).find("run past the end of the file"), std::string::npos);
  EXPECT_NE(with(ph0 + 40, 0x100, 8).find("exceeds its memory size"), std::string::npos);
  EXPECT_NE(with(ph1 + 24, ~uint64_t{0} - 0x10, 8).find("wraps around"), std::string::npos);
  EXPECT_EQ(with(ph0 + 24, 0x7000, 8),
            "vmlinux: program header 0: loads at 0x7000, below 1 MiB where the boot structures live");
  // Two segments over the same memory.
  EXPECT_NE(with(ph1 + 24, k16M + 0x1000, 8).find("overlap"), std::string::npos);
  // An entry outside the loaded bytes (in the zero-filled tail counts as outside).
  EXPECT_NE(with(24, k16M + 0x200000 + 0x200, 8).find("is not inside a loaded segment"),
            std::string::npos);
  EXPECT_NE(with(24, 0xffffffff81000000ull, 8).find("entry is physical"), std::string::npos);
  // No PT_LOAD at all.
  EXPECT_EQ(ParseVmlinux(MakeElf(k16M, {{4, 0, "x", 0}})).message(),
            "vmlinux: no loadable (PT_LOAD) segment");
  // Truncations of a good file never crash and are always rejected.
  for (size_t n = 0; n < 64 + 56 * 3; n += 7) EXPECT_FALSE(ParseVmlinux(good.substr(0, n)).ok()) << n;
  // A malformed note is ignored, not followed out of bounds.
  auto segs = KernelLike();
  segs[2].data = std::string("\xff\xff\xff\x7f\x01\0\0\0\x12\0\0\0", 12);
  auto k = ParseVmlinux(MakeElf(k16M, segs));
  ASSERT_TRUE(k.ok()) << k.message();
  EXPECT_FALSE(k->pvh_note);
}

}  // namespace
}  // namespace arrow::runner::x86
