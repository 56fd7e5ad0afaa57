// The Linux x86 boot protocol: bzImage header checks and the zero page (struct boot_params).
//
// ParseBzImage validates the setup header (Documentation/arch/x86/boot.rst) for a 64-bit direct
// boot; PlanLinuxLoad decides where the kernel runs and where the initrd goes, refusing layouts
// the kernel would silently mishandle (initrd inside the decompression range or above
// initrd_addr_max, RAM too small for init_size); BuildZeroPage fills a zeroed boot_params from
// the header bytes. The zero page is kept as raw bytes with named offsets, not a C struct, so the
// field positions are checked against the documentation in one table below.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runner/arch/x86_64/e820.h"

namespace arrow::runner::x86 {

// boot_params offsets (zero-page.rst, boot.rst).
namespace bp {
inline constexpr size_t kExtRamdiskImage = 0x0c0, kExtRamdiskSize = 0x0c4, kExtCmdLinePtr = 0x0c8;
inline constexpr size_t kE820Entries = 0x1e8, kSentinel = 0x1ef;
inline constexpr size_t kSetupSects = 0x1f1, kBootFlag = 0x1fe, kJump = 0x200, kHeader = 0x202;
inline constexpr size_t kVersion = 0x206, kTypeOfLoader = 0x210, kLoadFlags = 0x211;
inline constexpr size_t kRamdiskImage = 0x218, kRamdiskSize = 0x21c, kCmdLinePtr = 0x228;
inline constexpr size_t kInitrdAddrMax = 0x22c, kKernelAlignment = 0x230, kRelocatable = 0x234;
inline constexpr size_t kXLoadFlags = 0x236, kCmdlineSize = 0x238, kPrefAddress = 0x258;
inline constexpr size_t kInitSize = 0x260, kE820Table = 0x2d0, kE820Max = 128;
}  // namespace bp

inline constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
inline constexpr uint16_t kBootFlagMagic = 0xaa55;
inline constexpr uint8_t kLoadedHigh = 0x01;
inline constexpr uint16_t kXlfKernel64 = 0x01;

struct BzImage {
  uint16_t version = 0;
  uint32_t setup_bytes = 0;  // (setup_sects + 1) * 512: file offset of the 64-bit code
  uint32_t kernel_alignment = 0;
  bool relocatable = false;
  uint64_t pref_address = 0;
  uint32_t init_size = 0;
  uint32_t initrd_addr_max = 0;
  uint32_t cmdline_size = 0;        // excluding the NUL
  std::string_view header;          // bytes [0x1f1, 0x202 + byte[0x201]) of the file
  std::string_view protected_mode;  // the code copied to 1 MiB
};

Result<BzImage> ParseBzImage(std::string_view file);

struct LoadPlan {
  uint64_t load_addr = 0;      // where the protected-mode code is copied
  uint64_t entry = 0;          // 64-bit entry point (load + 0x200)
  uint64_t runtime_start = 0;  // where the decompressor runs
  uint64_t runtime_end = 0;    // runtime_start + init_size
  uint64_t initrd_addr = 0;    // 0 when there is no initrd
};

// `low_ram_end`: end of RAM below the 32-bit hole.
Result<LoadPlan> PlanLinuxLoad(const BzImage& k, uint64_t low_ram_end, uint64_t initrd_size,
                               uint64_t cmdline_len);

using ZeroPage = std::array<uint8_t, 4096>;

struct ZeroPageInputs {
  uint64_t cmdline_addr = 0;
  uint64_t initrd_addr = 0, initrd_size = 0;
  std::vector<E820Entry> e820;
};

Result<ZeroPage> BuildZeroPage(const BzImage& k, const ZeroPageInputs& in);
// The same from raw setup-header bytes (starting at 0x1f1), for a kernel without a bzImage.
Result<ZeroPage> BuildZeroPage(std::string_view setup_header, const ZeroPageInputs& in);

// Little-endian field access on the zero page (also used by tests).
uint64_t GetField(const ZeroPage& zp, size_t off, size_t width);
void PutField(ZeroPage& zp, size_t off, size_t width, uint64_t v);

}  // namespace arrow::runner::x86
