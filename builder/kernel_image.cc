// bzImage header parsing (Documentation/arch/x86/boot.rst): boot_flag 0xAA55 at 0x1fe, "HdrS"
// at 0x202, protocol version at 0x206, kernel_version pointer at 0x20e (offset - 0x200 from the
// setup start), relocatable_kernel at 0x234, xloadflags at 0x236. Every read is bounds-checked.
#include "builder/kernel_image.h"

#include "common/file_util.h"

namespace arrow::builder {
namespace {

bool Read16(std::string_view b, size_t off, uint16_t* out) {
  if (off + 2 > b.size()) return false;
  *out = static_cast<uint16_t>(static_cast<uint8_t>(b[off]) | (static_cast<uint8_t>(b[off + 1]) << 8));
  return true;
}

}  // namespace

Result<KernelImageInfo> ReadKernelImageHeader(std::string_view b, std::string_view name) {
  const std::string n(name);
  uint16_t boot_flag = 0, ver = 0, kv = 0;
  if (!Read16(b, 0x1fe, &boot_flag) || boot_flag != 0xAA55 || b.size() < 0x240 ||
      b.substr(0x202, 4) != "HdrS")
    return Err(n, ": not a Linux bzImage (no boot sector signature / \"HdrS\" header)");
  Read16(b, 0x206, &ver);
  if (ver < 0x0206)
    return Err(n, ": boot protocol ", std::to_string(ver >> 8), ".", std::to_string(ver & 0xff),
               " is too old (need 2.06+)");
  KernelImageInfo info;
  info.protocol = ver;
  info.relocatable = static_cast<uint8_t>(b[0x234]) != 0;
  uint16_t xload = 0;
  Read16(b, 0x236, &xload);
  info.kernel64 = (xload & 1) != 0;
  if (Read16(b, 0x20e, &kv) && kv != 0) {
    size_t off = size_t{kv} + 0x200;
    if (off < b.size()) {
      size_t end = b.find('\0', off);
      if (end == std::string_view::npos || end - off > 256) end = std::min(b.size(), off + 256);
      info.version_full = std::string(b.substr(off, end - off));
      info.version = info.version_full.substr(0, info.version_full.find(' '));
    }
  }
  return info;
}

Result<KernelImageInfo> ReadKernelImage(const std::filesystem::path& path) {
  auto bytes = ReadFile(path);
  if (!bytes) return Err("kernel image ", bytes.message());
  return ReadKernelImageHeader(*bytes, path.string());
}

}  // namespace arrow::builder
