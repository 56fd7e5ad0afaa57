// bzImage header checks, load planning and zero-page fields. Uses Debian's kernel (/vmlinuz) as
// a real bzImage; header-corruption cases patch a copy of it.
#include "runner/arch/x86_64/boot_params.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/file_util.h"
#include "runner/arch/x86_64/layout.h"

namespace arrow::runner::x86 {
namespace {

class BzImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // scripts/install-deps.sh installs Debian's kernel: without it this fails, never skips.
    ASSERT_TRUE(std::filesystem::exists("/vmlinuz")) << "no /vmlinuz (Debian's kernel)";
    auto f = ReadFile("/vmlinuz");
    ASSERT_TRUE(f.ok()) << f.message();
    file_ = *f;
  }
  std::string Patched(size_t off, uint8_t v) {
    std::string s = file_;
    s[off] = static_cast<char>(v);
    return s;
  }
  std::string file_;
};

TEST_F(BzImageTest, ParsesDebianKernel) {
  auto k = ParseBzImage(file_);
  ASSERT_TRUE(k.ok()) << k.message();
  EXPECT_GE(k->version, 0x020c);
  EXPECT_TRUE(k->relocatable);
  EXPECT_EQ(k->kernel_alignment & (k->kernel_alignment - 1), 0u);
  EXPECT_GT(k->init_size, k->protected_mode.size());
  EXPECT_EQ(k->setup_bytes % 512, 0u);
  EXPECT_EQ(k->setup_bytes + k->protected_mode.size(), file_.size());
  EXPECT_EQ(static_cast<uint8_t>(k->header[0x202 - 0x1f1]),
            'H');  // "HdrS" inside the copied header
  EXPECT_GE(k->cmdline_size, 2047u);
}

TEST_F(BzImageTest, RejectsBadHeaders) {
  EXPECT_EQ(ParseBzImage(Patched(0x1fe, 0)).message(),
            "bzImage: no boot flag 0xAA55 at offset 0x1fe: not a Linux bzImage");
  EXPECT_EQ(ParseBzImage(Patched(0x202, 'X')).message(),
            "bzImage: no \"HdrS\" setup header at offset 0x202: not a Linux bzImage");
  EXPECT_EQ(ParseBzImage(Patched(0x211, 0)).message(),
            "bzImage: LOADED_HIGH is not set: a zImage cannot be loaded at 1 MiB");
  EXPECT_EQ(ParseBzImage(Patched(0x236, 0)).message(),
            "bzImage: XLF_KERNEL_64 is not set: the kernel has no 64-bit entry point");
  std::string old = Patched(0x206, 0x0b);  // version 2.11
  EXPECT_EQ(ParseBzImage(old).message(),
            "bzImage: boot protocol 2.11 is too old for a 64-bit direct boot (needs 2.12)");
  EXPECT_EQ(ParseBzImage("tiny").message(), "bzImage: file is too small (4 bytes)");
}

TEST_F(BzImageTest, PlansInitrdAtTopOfLowRam) {
  auto k = ParseBzImage(file_);
  ASSERT_TRUE(k.ok());
  auto p = PlanLinuxLoad(*k, 128 << 20, 3'000'000, 100);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->load_addr, 0x100000u);
  EXPECT_EQ(p->entry, 0x100200u);
  EXPECT_EQ(p->runtime_start, std::max<uint64_t>(k->kernel_alignment, k->pref_address));
  EXPECT_EQ(p->initrd_addr % 4096, 0u);
  EXPECT_LE(p->initrd_addr + 3'000'000, 128u << 20);
  EXPECT_GT(p->initrd_addr + 3'000'000 + 4096, 128u << 20);
  EXPECT_GE(p->initrd_addr, p->runtime_end);
}

TEST_F(BzImageTest, RefusesLayoutsTheKernelWouldMishandle) {
  auto k = ParseBzImage(file_);
  ASSERT_TRUE(k.ok());
  auto small = PlanLinuxLoad(*k, 16 << 20, 0, 10);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.message().find("give the guest more memory"), std::string::npos)
      << small.message();
  // An initrd so large it would reach into the decompression range.
  auto overlap = PlanLinuxLoad(*k, 128 << 20, 120 << 20, 10);
  ASSERT_FALSE(overlap.ok());
  EXPECT_NE(overlap.message().find("would overlap the kernel's decompression range"),
            std::string::npos)
      << overlap.message();
  // initrd_addr_max below the end of RAM: the initrd's END must stay below it.
  BzImage capped = *k;
  capped.initrd_addr_max = (100 << 20) - 1;
  auto p = PlanLinuxLoad(capped, 128 << 20, 1 << 20, 10);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_LE(p->initrd_addr + (1 << 20), 100u << 20);
  auto longcmd = PlanLinuxLoad(*k, 128 << 20, 0, 4000);
  ASSERT_FALSE(longcmd.ok());
  EXPECT_EQ(longcmd.message(), "bzImage: kernel command line is 4000 bytes; the limit is 2047");
}

TEST_F(BzImageTest, ZeroPageFields) {
  auto k = ParseBzImage(file_);
  ASSERT_TRUE(k.ok());
  ZeroPageInputs in;
  in.cmdline_addr = layout::kCmdlineStart;
  in.initrd_addr = 0x7000000;
  in.initrd_size = 123456;
  in.e820 = BuildE820(128 << 20);
  auto zp = BuildZeroPage(*k, in);
  ASSERT_TRUE(zp.ok()) << zp.message();
  EXPECT_EQ(GetField(*zp, bp::kTypeOfLoader, 1), 0xffu);
  EXPECT_EQ(GetField(*zp, bp::kCmdLinePtr, 4), layout::kCmdlineStart);
  EXPECT_EQ(GetField(*zp, bp::kRamdiskImage, 4), 0x7000000u);
  EXPECT_EQ(GetField(*zp, bp::kRamdiskSize, 4), 123456u);
  EXPECT_EQ(GetField(*zp, bp::kExtRamdiskImage, 4), 0u);
  EXPECT_EQ(GetField(*zp, bp::kSentinel, 1), 0u);
  EXPECT_EQ(GetField(*zp, bp::kBootFlag, 2), 0xaa55u);
  EXPECT_EQ(GetField(*zp, bp::kHeader, 4), kHdrSMagic);
  EXPECT_EQ(GetField(*zp, bp::kE820Entries, 1), 3u);
  EXPECT_EQ(GetField(*zp, bp::kE820Table + 20 + 16, 4), kE820Reserved);
  EXPECT_EQ(GetField(*zp, bp::kE820Table + 40, 8), 0x100000u);
  // Nothing outside the header and the fields we set: the rest of the page stays zero.
  EXPECT_EQ(GetField(*zp, 0x000, 8), 0u);
  EXPECT_EQ(GetField(*zp, 0x1f0, 1), 0u);
  EXPECT_EQ(GetField(*zp, 0xff8, 8), 0u);
}

TEST(E820Test, LowRamOnly) {
  auto m = BuildE820(128 << 20);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], (E820Entry{0, 0x9fc00, kE820Ram}));
  EXPECT_EQ(m[1], (E820Entry{0x9fc00, 0xe0000 - 0x9fc00, kE820Reserved}));
  EXPECT_EQ(m[2], (E820Entry{0x100000, (128 << 20) - 0x100000, kE820Ram}));
}

TEST(E820Test, NeverMarksTheHoleAsRam) {
  auto m = BuildE820(4ull << 30);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[2].addr + m[2].size, layout::kMmioHoleStart);
  EXPECT_EQ(m[3], (E820Entry{layout::k4GiB, (4ull << 30) - layout::kMmioHoleStart, kE820Ram}));
  for (const auto& e : m)
    if (e.type == kE820Ram)
      EXPECT_TRUE(e.addr + e.size <= layout::kMmioHoleStart || e.addr >= layout::k4GiB);
}

}  // namespace
}  // namespace arrow::runner::x86
