// The BIOS e820 memory map handed to Linux in the zero page (docs/vmm.md §1): RAM below 640 KiB,
// the MP table/EBDA/BIOS area reserved, RAM from 1 MiB to the 32-bit hole, the hole left out
// (never RAM), and the rest of RAM from 4 GiB.
#pragma once

#include <cstdint>
#include <vector>

namespace arrow::runner::x86 {

inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;

struct E820Entry {
  uint64_t addr = 0;
  uint64_t size = 0;
  uint32_t type = 0;
  bool operator==(const E820Entry&) const = default;
};

// The map for `ram_size` bytes of guest RAM laid out as GuestMemory does.
std::vector<E820Entry> BuildE820(uint64_t ram_size);

}  // namespace arrow::runner::x86
