// Assemble(): runs as/ld/objcopy in a temporary directory; see assemble.h.
#include "runner/testing/assemble.h"

#include <cstdio>
#include <cstdlib>

#include "common/file_util.h"

namespace arrow::runner::testing {

Result<std::string> Assemble(const std::string& source, uint64_t base) {
  auto tmp = TempDir::Create("arrow-asm");
  if (!tmp) return tmp.error();
  const auto dir = tmp->path();
  ARROW_TRY(WriteFileAtomic(dir / "g.s", ".globl _start\n_start:\n" + source + "\n"));
  char base_hex[32];
  snprintf(base_hex, sizeof base_hex, "0x%llx", static_cast<unsigned long long>(base));
  const std::string d = dir.string();
  const std::string cmd = "as --64 -o " + d + "/g.o " + d + "/g.s 2>" + d +
                          "/err && ld -m elf_x86_64 -Ttext=" + base_hex + " -e _start -o " + d +
                          "/g.elf " + d + "/g.o 2>>" + d + "/err && objcopy -O binary -j .text " +
                          d + "/g.elf " + d + "/g.bin 2>>" + d + "/err";
  if (std::system(cmd.c_str()) != 0) {
    auto err = ReadFile(dir / "err");
    return Err("assembling the test guest failed: ", err ? *err : "");
  }
  return ReadFile(dir / "g.bin");
}

}  // namespace arrow::runner::testing
