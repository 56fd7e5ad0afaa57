// Identity-mapped page tables for the 64-bit entry: PML4[0] -> PDPT[0] -> one PD of 512 2 MiB
// pages covering the first 1 GiB (the kernel builds its own tables before touching more).
#pragma once

#include "common/result.h"
#include "runner/vstate/memory.h"

namespace arrow::runner::x86 {

inline constexpr uint64_t kPtePresent = 1, kPteWritable = 2, kPtePageSize = 0x80;

Status WritePageTables(GuestMemory& mem);

}  // namespace arrow::runner::x86
