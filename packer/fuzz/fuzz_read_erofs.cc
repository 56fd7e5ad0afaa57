// libFuzzer target: InspectErofs on arbitrary bytes (an arrow's EROFS root layer, as pulled from
// a registry) must return the superblock facts or an error, never read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "packer/erofs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = arrow::packer::InspectErofs(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)r;
  return 0;
}
