// e820 map construction; see e820.h.
#include "runner/arch/x86_64/e820.h"

#include <algorithm>

#include "runner/arch/x86_64/layout.h"

namespace arrow::runner::x86 {

std::vector<E820Entry> BuildE820(uint64_t ram_size) {
  std::vector<E820Entry> map;
  map.push_back({0, layout::kMptableStart, kE820Ram});
  map.push_back({layout::kMptableStart, layout::kEbdaEnd - layout::kMptableStart, kE820Reserved});
  uint64_t low_end = std::min(ram_size, layout::kMmioHoleStart);
  if (low_end > layout::kHimemStart)
    map.push_back({layout::kHimemStart, low_end - layout::kHimemStart, kE820Ram});
  if (ram_size > layout::kMmioHoleStart)
    map.push_back({layout::k4GiB, ram_size - layout::kMmioHoleStart, kE820Ram});
  return map;
}

}  // namespace arrow::runner::x86
