// ELF facts the loader cares about, read with elfutils libelf through PT_DYNAMIC.
//
// Only what glibc's ld.so looks at to resolve dependencies: class, machine, type, PT_INTERP,
// and from the dynamic table DT_NEEDED, DT_RPATH, DT_RUNPATH and DT_SONAME; plus the imported
// symbol names, which tell whether glibc will dlopen() its unwinder (the libgcc_s rule).
// Truncated or hostile files yield an error naming the path and what was wrong, never a crash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/dlopen_note.h"
#include "common/result.h"

namespace arrow::builder {

struct ElfInfo {
  int elf_class = 0;                   // ELFCLASS32 (1) or ELFCLASS64 (2)
  uint16_t machine = 0;                // e_machine (EM_X86_64 = 62)
  uint16_t type = 0;                   // e_type (ET_EXEC = 2, ET_DYN = 3)
  uint8_t osabi = 0;                   // e_ident[EI_OSABI]
  bool has_dynamic = false;            // a PT_DYNAMIC segment exists
  std::string interpreter;             // PT_INTERP, empty if none
  std::vector<std::string> needed;     // DT_NEEDED in order
  std::optional<std::string> rpath;    // DT_RPATH (raw, ':'-separated, tokens unexpanded)
  std::optional<std::string> runpath;  // DT_RUNPATH (raw)
  std::string soname;                  // DT_SONAME
  uint64_t flags_1 = 0;                // DT_FLAGS_1 (DF_1_NODEFLIB disables cache + default dirs)
  // Names of the undefined global/weak symbols of the dynamic symbol table (what the object
  // imports), sorted. `imports_known` is false when no table could be sized (no DT_HASH,
  // DT_GNU_HASH or SHT_DYNSYM): callers must then assume the object may import anything.
  std::vector<std::string> imports;
  bool imports_known = false;
  // FDO dlopen metadata (.note.dlopen) from the PT_NOTE segments, in file order.
  std::vector<DlopenDep> dlopen;
};

// True if the file starts with the ELF magic (cheap: reads 4 bytes).
bool IsElfFile(const std::filesystem::path& path);

// Reads a file; the error message starts with the path.
Result<ElfInfo> ReadElf(const std::filesystem::path& path);
// Same on bytes in memory (used by tests and the fuzz target); `name` is used in messages.
Result<ElfInfo> ReadElfMemory(std::string_view bytes, std::string_view name);

}  // namespace arrow::builder
