// Booting an uncompressed ELF vmlinux with the 64-bit boot protocol (no decompressor runs).
//
// ParseVmlinux validates an ELF64 x86-64 executable as untrusted input: header fields, every
// program header inside the file, each PT_LOAD's file bytes inside the file and p_filesz <=
// p_memsz, no address arithmetic that wraps, segments that do not overlap each other, nothing
// below 1 MiB (the boot structures live there), and an entry point inside loaded code.
// PlanVmlinuxLoad checks the segments against guest RAM and places the initrd above them;
// VmlinuxSetupHeader is the setup header a bzImage would have carried, for the zero page.
//
// Why this entry and not PVH: the built-in VMM already starts vCPUs in 64-bit mode with
// identity-mapped page tables, a boot GDT and %rsi pointing at a zero page, for the bzImage's
// 64-bit entry. vmlinux's e_entry (phys_startup_64) takes exactly that state, so the only new
// code is placing PT_LOAD segments. PVH would add a 32-bit protected-mode start and a second
// boot-information structure (hvm_start_info). qemu, which has no 64-bit ELF entry, uses the
// PVH note of the same file (CONFIG_PVH=y in the tuned kernels).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runner/arch/x86_64/boot_params.h"

namespace arrow::runner::x86 {

struct VmlinuxSegment {
  uint64_t paddr = 0;
  uint64_t memsz = 0;
  std::string_view data;  // the p_filesz bytes from the file; the rest up to memsz is zero
};

struct Vmlinux {
  uint64_t entry = 0;                     // physical: e_entry of a vmlinux is phys_startup_64
  std::vector<VmlinuxSegment> segments;   // PT_LOAD, sorted by paddr
  uint64_t start = 0, end = 0;            // [lowest paddr, highest paddr + memsz)
  bool pvh_note = false;                  // XEN_ELFNOTE_PHYS32_ENTRY present (qemu can boot it)
};

inline constexpr size_t kMaxVmlinuxSegments = 64;
// Linux's default initrd_addr_max for a 64-bit kernel, used when there is no setup header.
inline constexpr uint64_t kVmlinuxInitrdAddrMax = 0x7fffffff;

// True when `file` starts with the ELF magic (the runner then boots it as a vmlinux).
bool IsElf(std::string_view file);

Result<Vmlinux> ParseVmlinux(std::string_view file);

// `low_ram_end`: end of RAM below the 32-bit hole. entry = k.entry, load_addr = k.start,
// runtime_[start,end) = the segments' span.
Result<LoadPlan> PlanVmlinuxLoad(const Vmlinux& k, uint64_t low_ram_end, uint64_t initrd_size,
                                 uint64_t cmdline_len);

// Setup-header bytes [0x1f1, 0x268) for a kernel that came without one: boot flag, "HdrS",
// protocol 2.15, LOADED_HIGH, XLF_KERNEL_64, kernel_alignment 16 MiB, initrd_addr_max and the
// command-line limit. BuildZeroPage then fills in the rest as for a bzImage.
std::string VmlinuxSetupHeader();

}  // namespace arrow::runner::x86
