// ELF reader: the few facts glibc's ld.so uses to resolve dependencies, read with libelf.
//
// The dynamic table is found the way the loader finds it, through PT_DYNAMIC (not the section
// headers, which ld.so never reads and strip tools may drop). DT_STRTAB is a virtual address, so
// it is translated to a file offset through the PT_LOAD segments. Every offset read from the file
// is checked against the file size with overflow-safe arithmetic before use: truncated or hostile
// files give an error naming the path, never a crash (builder/elf_fuzz.cc exercises this).
#include "builder/elf.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>

namespace arrow::builder {
namespace {

std::string ElfMsg() {
  const char* m = elf_errmsg(-1);
  return m ? m : "unknown libelf error";
}

void InitLibelf() {
  static std::once_flag once;
  std::call_once(once, [] { elf_version(EV_CURRENT); });
}

// [off, off+len) inside [0, size)? Overflow-safe.
bool InBounds(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

struct Load {
  uint64_t vaddr, offset, filesz;
};

// The PT_LOAD whose file bytes map virtual address `addr`, or null.
const Load* Segment(const std::vector<Load>& loads, uint64_t addr) {
  for (const Load& l : loads)
    if (addr >= l.vaddr && addr - l.vaddr < l.filesz) return &l;
  return nullptr;
}

// File offset of `addr` inside `seg`, and how many bytes of the file follow it inside that
// segment; nullopt when the segment claims bytes beyond the end of the file.
std::optional<std::pair<uint64_t, uint64_t>> FileRange(const Load& seg, uint64_t addr,
                                                       uint64_t size) {
  uint64_t off = seg.offset + (addr - seg.vaddr);
  if (off < seg.offset || off > size) return std::nullopt;
  return std::make_pair(off, std::min<uint64_t>(seg.filesz - (addr - seg.vaddr), size - off));
}

std::optional<std::pair<uint64_t, uint64_t>> MapAddr(const std::vector<Load>& loads, uint64_t addr,
                                                     uint64_t size) {
  const Load* seg = Segment(loads, addr);
  return seg ? FileRange(*seg, addr, size) : std::nullopt;
}

uint32_t Word(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// Number of dynamic symbols, as ld.so would bound them: DT_HASH's nchain, or the end of the
// last DT_GNU_HASH chain. nullopt when neither table is present and consistent.
std::optional<uint64_t> CountSymbols(const std::vector<Load>& loads, std::string_view raw,
                                     std::optional<uint64_t> hash, std::optional<uint64_t> gnu_hash,
                                     int cls) {
  if (hash) {
    auto m = MapAddr(loads, *hash, raw.size());
    if (m && m->second >= 8) return Word(raw.data() + m->first + 4);
  }
  if (!gnu_hash) return std::nullopt;
  auto m = MapAddr(loads, *gnu_hash, raw.size());
  if (!m || m->second < 16) return std::nullopt;
  const char* p = raw.data() + m->first;
  uint64_t avail = m->second;
  uint64_t nbuckets = Word(p), symoffset = Word(p + 4), bloom = Word(p + 8);
  uint64_t buckets_at = 16 + bloom * (cls == ELFCLASS64 ? 8 : 4);
  if (!InBounds(buckets_at, nbuckets * 4, avail)) return std::nullopt;
  uint64_t last = 0;
  for (uint64_t i = 0; i < nbuckets; ++i)
    last = std::max<uint64_t>(last, Word(p + buckets_at + 4 * i));
  if (last == 0) return symoffset;  // no hashed symbols: only the unhashed (imported) ones
  if (last < symoffset) return std::nullopt;
  uint64_t chains_at = buckets_at + nbuckets * 4;
  for (uint64_t i = last;; ++i) {
    uint64_t at = chains_at + (i - symoffset) * 4;
    if (!InBounds(at, 4, avail)) return std::nullopt;
    if (Word(p + at) & 1) return i + 1;
  }
}

// Fills info.imports from the dynamic symbol table at `symtab` (a virtual address).
void ReadImports(Elf* elf, const std::vector<Load>& loads, std::string_view raw,
                 std::string_view strtab, uint64_t symtab, std::optional<uint64_t> count,
                 ElfInfo& info) {
  size_t entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
  if (!count) {
    // No hash table: the section headers, when the file still has them, size the table.
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM && entsize) {
        count = sh.sh_size / entsize;
        break;
      }
    }
  }
  auto m = MapAddr(loads, symtab, raw.size());
  if (!count || !m || entsize == 0 || *count > m->second / entsize) return;
  Elf_Data* data =
      elf_getdata_rawchunk(elf, static_cast<int64_t>(m->first), *count * entsize, ELF_T_SYM);
  if (data == nullptr) return;
  for (uint64_t i = 1; i < *count; ++i) {
    GElf_Sym sym;
    if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) return;
    int bind = GELF_ST_BIND(sym.st_info);
    if (sym.st_shndx != SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK)) continue;
    if (sym.st_name == 0 || sym.st_name >= strtab.size()) continue;
    size_t end = strtab.find('\0', sym.st_name);
    if (end == std::string_view::npos) continue;
    info.imports.emplace_back(strtab.substr(sym.st_name, end - sym.st_name));
  }
  std::sort(info.imports.begin(), info.imports.end());
  info.imports.erase(std::unique(info.imports.begin(), info.imports.end()), info.imports.end());
  info.imports_known = true;
}

// Parses an opened Elf handle; `raw`/`size` is the file image used for bounds checks.
Result<ElfInfo> Parse(Elf* elf, std::string_view name) {
  std::string n(name);
  if (elf_kind(elf) != ELF_K_ELF) return Err(n, ": not an ELF file");
  size_t size = 0;
  const char* raw = elf_rawfile(elf, &size);
  if (raw == nullptr) return Err(n, ": cannot read file image (", ElfMsg(), ")");
  ElfInfo info;
  int cls = gelf_getclass(elf);
  if (cls != ELFCLASS32 && cls != ELFCLASS64) return Err(n, ": invalid ELF class (", ElfMsg(), ")");
  info.elf_class = cls;
  info.osabi = static_cast<uint8_t>(raw[EI_OSABI]);
  GElf_Ehdr eh;
  if (gelf_getehdr(elf, &eh) == nullptr) return Err(n, ": cannot read ELF header (", ElfMsg(), ")");
  info.machine = eh.e_machine;
  info.type = eh.e_type;
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0)
    return Err(n, ": cannot read program header count (", ElfMsg(), ")");
  // libelf quietly reports no program headers when the table lies past the end of the file.
  if (eh.e_phnum != 0 && !InBounds(eh.e_phoff, uint64_t{eh.e_phnum} * eh.e_phentsize, size))
    return Err(n, ": program headers beyond end of file");
  std::vector<Load> loads;
  std::optional<GElf_Phdr> dyn;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, static_cast<int>(i), &ph) == nullptr)
      return Err(n, ": cannot read program header ", std::to_string(i), " (", ElfMsg(), ")");
    if (ph.p_type == PT_LOAD) {
      loads.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz});
    } else if (ph.p_type == PT_DYNAMIC) {
      if (!dyn) dyn = ph;
    } else if (ph.p_type == PT_INTERP) {
      if (!InBounds(ph.p_offset, ph.p_filesz, size) || ph.p_filesz == 0)
        return Err(n, ": PT_INTERP beyond end of file");
      const char* s = raw + ph.p_offset;
      size_t len = strnlen(s, ph.p_filesz);
      if (len == ph.p_filesz) return Err(n, ": PT_INTERP is not NUL-terminated");
      info.interpreter.assign(s, len);
    } else if (ph.p_type == PT_NOTE) {
      if (!InBounds(ph.p_offset, ph.p_filesz, size)) return Err(n, ": PT_NOTE beyond end of file");
      auto deps = ParseDlopenNotes(std::string_view(raw + ph.p_offset, ph.p_filesz), ph.p_align, n);
      if (!deps) return deps.error();
      info.dlopen.insert(info.dlopen.end(), deps->begin(), deps->end());
    }
  }
  if (!dyn) return info;
  info.has_dynamic = true;
  if (!InBounds(dyn->p_offset, dyn->p_filesz, size))
    return Err(n, ": PT_DYNAMIC beyond end of file");
  Elf_Data* data =
      elf_getdata_rawchunk(elf, static_cast<int64_t>(dyn->p_offset), dyn->p_filesz, ELF_T_DYN);
  if (data == nullptr) return Err(n, ": cannot read dynamic table (", ElfMsg(), ")");
  size_t entsize = gelf_fsize(elf, ELF_T_DYN, 1, EV_CURRENT);
  if (entsize == 0) return Err(n, ": cannot size dynamic entries (", ElfMsg(), ")");
  size_t count = data->d_size / entsize;
  std::optional<uint64_t> strtab, strsz, rpath, runpath, soname, symtab, hash, gnu_hash;
  std::vector<uint64_t> needed;
  for (size_t i = 0; i < count; ++i) {
    GElf_Dyn d;
    if (gelf_getdyn(data, static_cast<int>(i), &d) == nullptr)
      return Err(n, ": cannot read dynamic entry ", std::to_string(i), " (", ElfMsg(), ")");
    if (d.d_tag == DT_NULL) break;
    switch (d.d_tag) {
      case DT_STRTAB:
        strtab = d.d_un.d_ptr;
        break;
      case DT_STRSZ:
        strsz = d.d_un.d_val;
        break;
      case DT_NEEDED:
        needed.push_back(d.d_un.d_val);
        break;
      case DT_RPATH:
        rpath = d.d_un.d_val;
        break;
      case DT_RUNPATH:
        runpath = d.d_un.d_val;
        break;
      case DT_SONAME:
        soname = d.d_un.d_val;
        break;
      case DT_FLAGS_1:
        info.flags_1 = d.d_un.d_val;
        break;
      case DT_SYMTAB:
        symtab = d.d_un.d_ptr;
        break;
      case DT_HASH:
        hash = d.d_un.d_ptr;
        break;
      case DT_GNU_HASH:
        gnu_hash = d.d_un.d_ptr;
        break;
      default:
        break;
    }
  }
  if (needed.empty() && !rpath && !runpath && !soname && !symtab) return info;
  if (!strtab) {
    if (needed.empty() && !rpath && !runpath && !soname) return info;
    return Err(n, ": dynamic table has strings but no DT_STRTAB");
  }
  const Load* seg = Segment(loads, *strtab);
  if (seg == nullptr) return Err(n, ": DT_STRTAB address not mapped by any PT_LOAD");
  auto where = FileRange(*seg, *strtab, size);
  if (!where) return Err(n, ": DT_STRTAB beyond end of file");
  uint64_t avail = where->second;
  if (strsz) avail = std::min(avail, *strsz);
  std::string_view tab(raw + where->first, avail);
  if (symtab) {
    const std::string_view image(raw, size);
    ReadImports(elf, loads, image, tab, *symtab, CountSymbols(loads, image, hash, gnu_hash, cls),
                info);
  }
  auto str = [&](uint64_t idx, const char* what) -> Result<std::string> {
    if (idx >= tab.size())
      return Err(n, ": ", what, " string index ", std::to_string(idx), " beyond string table");
    size_t end = tab.find('\0', idx);
    if (end == std::string_view::npos) return Err(n, ": ", what, " string is not NUL-terminated");
    return std::string(tab.substr(idx, end - idx));
  };
  for (uint64_t idx : needed) {
    auto s = str(idx, "DT_NEEDED");
    if (!s) return s.error();
    info.needed.push_back(std::move(*s));
  }
  if (rpath) {
    auto s = str(*rpath, "DT_RPATH");
    if (!s) return s.error();
    info.rpath = std::move(*s);
  }
  if (runpath) {
    auto s = str(*runpath, "DT_RUNPATH");
    if (!s) return s.error();
    info.runpath = std::move(*s);
  }
  if (soname) {
    auto s = str(*soname, "DT_SONAME");
    if (!s) return s.error();
    info.soname = std::move(*s);
  }
  return info;
}

}  // namespace

bool IsElfFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4)) return false;
  return std::memcmp(magic, ELFMAG, SELFMAG) == 0;
}

Result<ElfInfo> ReadElf(const std::filesystem::path& path) {
  InitLibelf();
  std::string n = path.string();
  int fd = open(n.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(n, ": cannot open (", std::strerror(errno), ")");
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr) {
    close(fd);
    return Err(n, ": cannot read ELF (", ElfMsg(), ")");
  }
  auto r = Parse(elf, n);
  elf_end(elf);
  close(fd);
  return r;
}

Result<ElfInfo> ReadElfMemory(std::string_view bytes, std::string_view name) {
  InitLibelf();
  // elf_memory wants a mutable buffer (it may convert in place); give it a private copy.
  std::vector<char> copy(bytes.begin(), bytes.end());
  copy.push_back('\0');  // never hand libelf a null pointer for an empty input
  Elf* elf = elf_memory(copy.data(), bytes.size());
  if (elf == nullptr) return Err(name, ": cannot read ELF (", ElfMsg(), ")");
  auto r = Parse(elf, name);
  elf_end(elf);
  return r;
}

}  // namespace arrow::builder
