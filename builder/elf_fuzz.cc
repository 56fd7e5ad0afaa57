// libFuzzer target for the ELF reader: any byte string must give an ElfInfo or an error,
// never a crash, leak or undefined behaviour (built with -fsanitize=fuzzer,address,undefined
// when ARROW_FUZZ is ON). Seed it with a few real ELF files from /usr/bin and /usr/lib.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "builder/elf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = arrow::builder::ReadElfMemory(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  (void)r;
  return 0;
}
