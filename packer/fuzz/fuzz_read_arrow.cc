// libFuzzer target: ReadArrowMemory on arbitrary bytes must return a value or an error, never
// crash, hang or allocate without bound (limits kept small so the fuzzer's RSS cap holds).
#include <cstddef>
#include <cstdint>
#include <string>

#include "packer/arrow_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  arrow::packer::ReadLimits limits{.max_member_bytes = 16u << 20, .max_json_bytes = 1u << 20};
  auto r = arrow::packer::ReadArrowMemory(
      std::string(reinterpret_cast<const char*>(data), size), limits);
  if (r.ok()) (void)r->FindLayer(arrow::packer::kKernelMediaType);
  return 0;
}
