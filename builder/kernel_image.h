// Reads the Linux x86 boot-protocol header of a bzImage: validates it and extracts the kernel
// version string, so a bad `[kernel] image` fails at build time, not at boot.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace arrow::builder {

struct KernelImageInfo {
  uint16_t protocol = 0;     // boot protocol version (0x020f for 6.1)
  std::string version;       // "6.1.0-56-amd64" (first word of the kernel_version string)
  std::string version_full;  // the whole kernel_version string
  bool relocatable = false;
  bool kernel64 = false;     // XLF_KERNEL_64: 64-bit entry point
};

Result<KernelImageInfo> ReadKernelImageHeader(std::string_view bytes, std::string_view name);
Result<KernelImageInfo> ReadKernelImage(const std::filesystem::path& path);

}  // namespace arrow::builder
