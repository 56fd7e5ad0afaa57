// ELF vmlinux parsing and load planning; see vmlinux.h. Offsets are those of the ELF-64 object
// file format (e_ident, Elf64_Ehdr, Elf64_Phdr, Elf64_Nhdr); every read is bounds-checked.
#include "runner/arch/x86_64/vmlinux.h"

#include <algorithm>

#include "runner/arch/x86_64/layout.h"
#include "runner/vstate/memory.h"

namespace arrow::runner::x86 {
namespace {

constexpr size_t kEhdrSize = 64, kPhdrSize = 56;
constexpr uint16_t kEtExec = 2, kEmX86_64 = 62;
constexpr uint32_t kPtLoad = 1, kPtNote = 4;
constexpr uint32_t kXenElfnotePhys32Entry = 18;

uint64_t Le(std::string_view s, size_t off, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; i++) v |= uint64_t{static_cast<uint8_t>(s[off + i])} << (8 * i);
  return v;
}

// [off, off + len) inside a buffer of `size` bytes, without overflow.
bool Inside(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

// Whether the notes in `notes` include Xen's PHYS32_ENTRY (the PVH entry point).
bool HasPvhNote(std::string_view notes) {
  size_t p = 0;
  while (p + 12 <= notes.size()) {
    const uint64_t namesz = Le(notes, p, 4), descsz = Le(notes, p + 4, 4), type = Le(notes, p + 8, 4);
    const uint64_t name_off = p + 12, desc_off = name_off + ((namesz + 3) & ~uint64_t{3});
    const uint64_t next = desc_off + ((descsz + 3) & ~uint64_t{3});
    if (!Inside(name_off, namesz, notes.size()) || next > notes.size() || next <= p) return false;
    if (type == kXenElfnotePhys32Entry && namesz == 4 && notes.substr(name_off, 4) == std::string_view("Xen\0", 4))
      return true;
    p = next;
  }
  return false;
}

}  // namespace

bool IsElf(std::string_view f) {
  return f.size() >= 4 && f.substr(0, 4) == "\x7f" "ELF";
}

Result<Vmlinux> ParseVmlinux(std::string_view f) {
  if (!IsElf(f) || f.size() < kEhdrSize) return Err("vmlinux: not an ELF file");
  if (f[4] != 2 || f[5] != 1)
    return Err("vmlinux: not a 64-bit little-endian ELF file (class ", std::to_string(f[4]),
               ", data ", std::to_string(f[5]), ")");
  if (Le(f, 16, 2) != kEtExec) return Err("vmlinux: ELF type ", std::to_string(Le(f, 16, 2)), " is not an executable");
  if (Le(f, 18, 2) != kEmX86_64)
    return Err("vmlinux: ELF machine ", std::to_string(Le(f, 18, 2)), " is not x86-64");
  const uint64_t phoff = Le(f, 32, 8), phentsize = Le(f, 54, 2), phnum = Le(f, 56, 2);
  if (phentsize != kPhdrSize)
    return Err("vmlinux: program header size ", std::to_string(phentsize), ", expected 56");
  if (phnum == 0 || phnum > kMaxVmlinuxSegments)
    return Err("vmlinux: ", std::to_string(phnum), " program headers (1 to ",
               std::to_string(kMaxVmlinuxSegments), " are accepted)");
  if (!Inside(phoff, phnum * kPhdrSize, f.size()))
    return Err("vmlinux: program headers at 0x", Hex(phoff), " run past the end of the file");
  Vmlinux k;
  k.entry = Le(f, 24, 8);
  for (uint64_t i = 0; i < phnum; i++) {
    const size_t ph = phoff + i * kPhdrSize;
    const uint32_t type = static_cast<uint32_t>(Le(f, ph, 4));
    const uint64_t off = Le(f, ph + 8, 8), paddr = Le(f, ph + 24, 8);
    const uint64_t filesz = Le(f, ph + 32, 8), memsz = Le(f, ph + 40, 8);
    const std::string what = "vmlinux: program header " + std::to_string(i);
    if (type != kPtLoad && type != kPtNote) continue;
    if (!Inside(off, filesz, f.size()))
      return Err(what, ": its ", std::to_string(filesz), " bytes at offset 0x", Hex(off),
                 " run past the end of the file (", std::to_string(f.size()), " bytes)");
    if (type == kPtNote) {
      k.pvh_note |= HasPvhNote(f.substr(off, filesz));
      continue;
    }
    if (memsz == 0) continue;
    if (filesz > memsz)
      return Err(what, ": file size 0x", Hex(filesz), " exceeds its memory size 0x", Hex(memsz));
    if (paddr + memsz < paddr) return Err(what, ": address 0x", Hex(paddr), " + size wraps around");
    if (paddr < layout::kHimemStart)
      return Err(what, ": loads at 0x", Hex(paddr), ", below 1 MiB where the boot structures live");
    k.segments.push_back({paddr, memsz, f.substr(off, filesz)});
  }
  if (k.segments.empty()) return Err("vmlinux: no loadable (PT_LOAD) segment");
  std::sort(k.segments.begin(), k.segments.end(),
            [](const VmlinuxSegment& a, const VmlinuxSegment& b) { return a.paddr < b.paddr; });
  for (size_t i = 1; i < k.segments.size(); i++) {
    const auto &a = k.segments[i - 1], &b = k.segments[i];
    if (a.paddr + a.memsz > b.paddr)
      return Err("vmlinux: segments [0x", Hex(a.paddr), ", 0x", Hex(a.paddr + a.memsz), ") and [0x",
                 Hex(b.paddr), ", 0x", Hex(b.paddr + b.memsz), ") overlap");
  }
  k.start = k.segments.front().paddr;
  for (const auto& s : k.segments) k.end = std::max(k.end, s.paddr + s.memsz);
  const bool entry_loaded = std::any_of(k.segments.begin(), k.segments.end(), [&](const VmlinuxSegment& s) {
    return k.entry >= s.paddr && k.entry - s.paddr < s.data.size();
  });
  if (!entry_loaded)
    return Err("vmlinux: entry point 0x", Hex(k.entry),
               " is not inside a loaded segment (a vmlinux's entry is physical: phys_startup_64)");
  return k;
}

Result<LoadPlan> PlanVmlinuxLoad(const Vmlinux& k, uint64_t low_end, uint64_t initrd_size,
                                 uint64_t cmdline_len) {
  if (cmdline_len + 1 > layout::kCmdlineMaxSize)
    return Err("vmlinux: kernel command line is ", std::to_string(cmdline_len),
               " bytes; the limit is ", std::to_string(layout::kCmdlineMaxSize - 1));
  if (k.end > low_end)
    return Err("vmlinux: the kernel needs RAM up to 0x", Hex(k.end), " but low RAM ends at 0x",
               Hex(low_end), ": give the guest more memory");
  LoadPlan p;
  p.load_addr = k.start;
  p.entry = k.entry;
  p.runtime_start = k.start;
  p.runtime_end = k.end;
  if (initrd_size == 0) return p;
  const uint64_t top = std::min(low_end, kVmlinuxInitrdAddrMax + 1);
  if (initrd_size > top)
    return Err("initrd: ", std::to_string(initrd_size >> 20), " MiB does not fit below 0x", Hex(top));
  p.initrd_addr = (top - initrd_size) & ~uint64_t{0xfff};
  if (p.initrd_addr < k.end)
    return Err("initrd: ", std::to_string(initrd_size >> 20), " MiB at 0x", Hex(p.initrd_addr),
               " would overlap the kernel at [0x", Hex(k.start), ", 0x", Hex(k.end),
               "): give the guest more memory");
  return p;
}

std::string VmlinuxSetupHeader() {
  ZeroPage zp{};
  PutField(zp, bp::kBootFlag, 2, kBootFlagMagic);
  PutField(zp, bp::kHeader, 4, kHdrSMagic);
  PutField(zp, bp::kVersion, 2, 0x020f);
  PutField(zp, bp::kLoadFlags, 1, kLoadedHigh);
  PutField(zp, bp::kInitrdAddrMax, 4, kVmlinuxInitrdAddrMax);
  PutField(zp, bp::kKernelAlignment, 4, 0x1000000);
  PutField(zp, bp::kXLoadFlags, 2, kXlfKernel64);
  PutField(zp, bp::kCmdlineSize, 4, layout::kCmdlineMaxSize - 1);
  return std::string(reinterpret_cast<const char*>(zp.data()) + bp::kSetupSects,
                     bp::kInitSize + 4 + 4 - bp::kSetupSects);
}

}  // namespace arrow::runner::x86
