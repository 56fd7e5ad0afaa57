// libFuzzer target: ReadInitramfsMemory (zstd + cpio newc/odc) on arbitrary bytes. The output
// cap is small so a decompression bomb is an error, not an out-of-memory report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "packer/initramfs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = arrow::packer::ReadInitramfsMemory(
      std::string(reinterpret_cast<const char*>(data), size), 64u << 20);
  (void)r;
  return 0;
}
