// Test helper: writes minimal ELF-64 x86-64 executables (program headers only, no sections), the
// shape of a stripped vmlinux, so loader tests and fuzz seeds need no kernel build.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace arrow::runner::testing {

struct ElfSegment {
  uint32_t type = 1;  // PT_LOAD; 4 = PT_NOTE
  uint64_t paddr = 0;
  std::string data;   // p_filesz bytes
  uint64_t memsz = 0; // 0 = data.size()
};

// The file: Elf64_Ehdr, the program headers right after it, then each segment's data in order.
std::string MakeElf(uint64_t entry, const std::vector<ElfSegment>& segments);

// An ELF note (name padded to 4, descriptor padded to 4).
std::string ElfNote(const std::string& name, uint32_t type, const std::string& desc);

}  // namespace arrow::runner::testing
