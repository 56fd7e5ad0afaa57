// bzImage parsing, load planning and zero-page construction; see boot_params.h.
#include "runner/arch/x86_64/boot_params.h"

#include <algorithm>

#include "runner/arch/x86_64/layout.h"
#include "runner/vstate/memory.h"

namespace arrow::runner::x86 {
namespace {

uint64_t ReadLe(std::string_view s, size_t off, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; i++) v |= uint64_t{static_cast<uint8_t>(s[off + i])} << (8 * i);
  return v;
}

uint64_t AlignUp(uint64_t v, uint64_t a) {
  return a ? (v + a - 1) / a * a : v;
}

}  // namespace

uint64_t GetField(const ZeroPage& zp, size_t off, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; i++) v |= uint64_t{zp[off + i]} << (8 * i);
  return v;
}

void PutField(ZeroPage& zp, size_t off, size_t width, uint64_t v) {
  for (size_t i = 0; i < width; i++) zp[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

Result<BzImage> ParseBzImage(std::string_view f) {
  if (f.size() < 0x1000)
    return Err("bzImage: file is too small (", std::to_string(f.size()), " bytes)");
  if (ReadLe(f, bp::kBootFlag, 2) != kBootFlagMagic)
    return Err("bzImage: no boot flag 0xAA55 at offset 0x1fe: not a Linux bzImage");
  if (ReadLe(f, bp::kHeader, 4) != kHdrSMagic)
    return Err("bzImage: no \"HdrS\" setup header at offset 0x202: not a Linux bzImage");
  BzImage k;
  k.version = static_cast<uint16_t>(ReadLe(f, bp::kVersion, 2));
  char ver[16];
  snprintf(ver, sizeof ver, "%u.%02u", k.version >> 8, k.version & 0xff);
  if (k.version < 0x020c)
    return Err("bzImage: boot protocol ", ver, " is too old for a 64-bit direct boot (needs 2.12)");
  if (!(ReadLe(f, bp::kLoadFlags, 1) & kLoadedHigh))
    return Err("bzImage: LOADED_HIGH is not set: a zImage cannot be loaded at 1 MiB");
  if (!(ReadLe(f, bp::kXLoadFlags, 2) & kXlfKernel64))
    return Err("bzImage: XLF_KERNEL_64 is not set: the kernel has no 64-bit entry point");
  uint32_t sects = static_cast<uint8_t>(f[bp::kSetupSects]);
  if (sects == 0) sects = 4;
  k.setup_bytes = (sects + 1) * 512;
  if (k.setup_bytes >= f.size())
    return Err("bzImage: setup_sects (", std::to_string(sects),
               ") points past the end of the file");
  size_t hdr_end = 0x202 + static_cast<uint8_t>(f[0x201]);
  if (hdr_end > k.setup_bytes || hdr_end < bp::kInitSize + 4)
    return Err("bzImage: setup header length ", std::to_string(hdr_end - bp::kSetupSects),
               " is inconsistent");
  k.header = f.substr(bp::kSetupSects, hdr_end - bp::kSetupSects);
  k.protected_mode = f.substr(k.setup_bytes);
  k.kernel_alignment = static_cast<uint32_t>(ReadLe(f, bp::kKernelAlignment, 4));
  k.relocatable = ReadLe(f, bp::kRelocatable, 1) != 0;
  k.pref_address = ReadLe(f, bp::kPrefAddress, 8);
  k.init_size = static_cast<uint32_t>(ReadLe(f, bp::kInitSize, 4));
  k.initrd_addr_max = static_cast<uint32_t>(ReadLe(f, bp::kInitrdAddrMax, 4));
  k.cmdline_size = static_cast<uint32_t>(ReadLe(f, bp::kCmdlineSize, 4));
  if (k.init_size == 0) return Err("bzImage: init_size is 0");
  if (k.relocatable && (k.kernel_alignment == 0 || (k.kernel_alignment & (k.kernel_alignment - 1))))
    return Err("bzImage: kernel_alignment 0x", Hex(k.kernel_alignment), " is not a power of two");
  return k;
}

Result<LoadPlan> PlanLinuxLoad(const BzImage& k, uint64_t low_end, uint64_t initrd_size,
                               uint64_t cmdline_len) {
  LoadPlan p;
  if (cmdline_len + 1 > layout::kCmdlineMaxSize || cmdline_len > k.cmdline_size)
    return Err("bzImage: kernel command line is ", std::to_string(cmdline_len),
               " bytes; the limit is ",
               std::to_string(std::min<uint64_t>(layout::kCmdlineMaxSize - 1, k.cmdline_size)));
  p.load_addr = layout::kHimemStart;
  p.entry = p.load_addr + 0x200;
  // The decompressor moves itself to align_up(load, kernel_alignment), never below
  // LOAD_PHYSICAL_ADDR (= pref_address); a non-relocatable kernel runs at pref_address.
  p.runtime_start = k.relocatable
                        ? std::max(AlignUp(p.load_addr, k.kernel_alignment), k.pref_address)
                        : k.pref_address;
  p.runtime_end = p.runtime_start + k.init_size;
  uint64_t load_end = p.load_addr + k.protected_mode.size();
  uint64_t needed = std::max(p.runtime_end, load_end);
  if (needed > low_end)
    return Err("bzImage: the kernel needs RAM up to 0x", Hex(needed), " (runtime 0x",
               Hex(p.runtime_start), " + init_size 0x", Hex(k.init_size),
               ") but low RAM ends at 0x", Hex(low_end), ": give the guest more memory");
  if (initrd_size == 0) return p;
  uint64_t top = std::min(low_end, uint64_t{k.initrd_addr_max} + 1);
  if (initrd_size > top)
    return Err("initrd: ", std::to_string(initrd_size >> 20), " MiB does not fit below 0x",
               Hex(top));
  p.initrd_addr = (top - initrd_size) & ~uint64_t{0xfff};
  if (p.initrd_addr + initrd_size > top)
    return Err("initrd: end 0x", Hex(p.initrd_addr + initrd_size), " is above initrd_addr_max 0x",
               Hex(k.initrd_addr_max));
  if (p.initrd_addr < needed)
    return Err("initrd: ", std::to_string(initrd_size >> 20), " MiB at 0x", Hex(p.initrd_addr),
               " would overlap the kernel's decompression range [0x", Hex(p.load_addr), ", 0x",
               Hex(needed), "): give the guest more memory");
  return p;
}

Result<ZeroPage> BuildZeroPage(const BzImage& k, const ZeroPageInputs& in) {
  return BuildZeroPage(k.header, in);
}

Result<ZeroPage> BuildZeroPage(std::string_view header, const ZeroPageInputs& in) {
  ZeroPage zp{};  // zeroed: a non-zero sentinel at 0x1ef makes the kernel wipe fields
  if (header.size() > zp.size() - bp::kSetupSects) return Err("zero page: setup header too long");
  std::copy(header.begin(), header.end(), zp.begin() + bp::kSetupSects);
  PutField(zp, bp::kTypeOfLoader, 1, 0xff);  // "undefined loader"; 0 => initrd ignored
  PutField(zp, bp::kCmdLinePtr, 4, in.cmdline_addr);
  PutField(zp, bp::kExtCmdLinePtr, 4, in.cmdline_addr >> 32);
  PutField(zp, bp::kRamdiskImage, 4, in.initrd_addr & 0xffffffff);
  PutField(zp, bp::kRamdiskSize, 4, in.initrd_size & 0xffffffff);
  PutField(zp, bp::kExtRamdiskImage, 4, in.initrd_addr >> 32);
  PutField(zp, bp::kExtRamdiskSize, 4, in.initrd_size >> 32);
  if (in.e820.size() > bp::kE820Max)
    return Err("e820: ", std::to_string(in.e820.size()), " entries, at most 128");
  PutField(zp, bp::kE820Entries, 1, in.e820.size());
  for (size_t i = 0; i < in.e820.size(); i++) {
    size_t off = bp::kE820Table + i * 20;
    PutField(zp, off, 8, in.e820[i].addr);
    PutField(zp, off + 8, 8, in.e820[i].size);
    PutField(zp, off + 16, 4, in.e820[i].type);
  }
  return zp;
}

}  // namespace arrow::runner::x86
