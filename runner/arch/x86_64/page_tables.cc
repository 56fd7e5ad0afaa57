// Boot page tables; see page_tables.h.
#include "runner/arch/x86_64/page_tables.h"

#include "runner/arch/x86_64/layout.h"

namespace arrow::runner::x86 {

Status WritePageTables(GuestMemory& mem) {
  ARROW_TRY(mem.Zero(layout::kPml4Start, 3 * 4096));
  ARROW_TRY(
      mem.WriteObj(layout::kPml4Start, uint64_t{layout::kPdptStart | kPtePresent | kPteWritable}));
  ARROW_TRY(
      mem.WriteObj(layout::kPdptStart, uint64_t{layout::kPdStart | kPtePresent | kPteWritable}));
  for (uint64_t i = 0; i < 512; i++)
    ARROW_TRY(mem.WriteObj(layout::kPdStart + i * 8,
                           (i << 21) | kPtePresent | kPteWritable | kPtePageSize));
  return Ok{};
}

}  // namespace arrow::runner::x86
