// Minimal ELF-64 writer for tests; see elf_image.h.
#include "runner/testing/elf_image.h"

namespace arrow::runner::testing {
namespace {

void Put(std::string& s, size_t off, uint64_t v, size_t width) {
  if (s.size() < off + width) s.resize(off + width, '\0');
  for (size_t i = 0; i < width; i++) s[off + i] = static_cast<char>(v >> (8 * i));
}

std::string Padded(std::string s) {
  s.resize((s.size() + 3) & ~size_t{3}, '\0');
  return s;
}

}  // namespace

std::string MakeElf(uint64_t entry, const std::vector<ElfSegment>& segments) {
  std::string f(64, '\0');
  f.replace(0, 7, "\x7f" "ELF\x02\x01\x01");
  Put(f, 16, 2, 2);   // ET_EXEC
  Put(f, 18, 62, 2);  // EM_X86_64
  Put(f, 20, 1, 4);
  Put(f, 24, entry, 8);
  Put(f, 32, 64, 8);  // e_phoff
  Put(f, 52, 64, 2);
  Put(f, 54, 56, 2);
  Put(f, 56, segments.size(), 2);
  uint64_t off = 64 + 56 * segments.size();
  f.resize(off, '\0');
  for (size_t i = 0; i < segments.size(); i++) {
    const ElfSegment& s = segments[i];
    const size_t ph = 64 + 56 * i;
    Put(f, ph, s.type, 4);
    Put(f, ph + 4, 7, 4);  // RWX
    Put(f, ph + 8, off, 8);
    Put(f, ph + 16, s.paddr + 0xffffffff80000000ull, 8);  // p_vaddr: where a kernel links it
    Put(f, ph + 24, s.paddr, 8);
    Put(f, ph + 32, s.data.size(), 8);
    Put(f, ph + 40, s.memsz ? s.memsz : s.data.size(), 8);
    Put(f, ph + 48, 0x1000, 8);
    f += s.data;
    off += s.data.size();
  }
  return f;
}

std::string ElfNote(const std::string& name, uint32_t type, const std::string& desc) {
  std::string n;
  Put(n, 0, name.size(), 4);
  Put(n, 4, desc.size(), 4);
  Put(n, 8, type, 4);
  return n + Padded(name) + Padded(desc);
}

}  // namespace arrow::runner::testing
