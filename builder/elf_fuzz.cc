// libFuzzer target for the two ELF readers that see untrusted files: the builder's ELF reader
// (any byte string must give an ElfInfo or an error) and the built-in VMM's vmlinux loader
// (ParseVmlinux + PlanVmlinuxLoad, then the segments written into real guest memory). Besides
// "no crash, leak or undefined behaviour" (ASan + UBSan), the loader's promises are checked: an
// accepted kernel has sorted, non-overlapping segments at or above 1 MiB whose bytes lie inside
// the input, an entry inside loaded bytes, and a plan that fits RAM with the initrd above the
// kernel, so every write of a planned load succeeds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "builder/elf.h"
#include "runner/arch/x86_64/layout.h"
#include "runner/arch/x86_64/vmlinux.h"
#include "runner/vstate/memory.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void FuzzVmlinux(std::string_view in) {
  namespace x86 = arrow::runner::x86;
  auto k = x86::ParseVmlinux(in);
  if (!k.ok()) return;
  Check(!k->segments.empty() && k->segments.size() <= x86::kMaxVmlinuxSegments);
  uint64_t prev_end = 0;
  bool entry_loaded = false;
  for (const auto& s : k->segments) {
    Check(s.paddr >= arrow::runner::layout::kHimemStart && s.paddr >= prev_end);
    Check(s.data.size() <= s.memsz && s.paddr + s.memsz >= s.paddr);
    Check(s.data.data() >= in.data() && s.data.data() + s.data.size() <= in.data() + in.size());
    entry_loaded |= k->entry >= s.paddr && k->entry - s.paddr < s.data.size();
    prev_end = s.paddr + s.memsz;
  }
  Check(entry_loaded && k->start == k->segments.front().paddr && k->end == prev_end);
  constexpr uint64_t kRam = 64ull << 20, kInitrd = 1 << 20;
  auto plan = x86::PlanVmlinuxLoad(*k, kRam, kInitrd, 100);
  if (!plan.ok()) return;
  Check(plan->entry == k->entry && k->end <= kRam);
  Check(plan->initrd_addr >= k->end && plan->initrd_addr + kInitrd <= kRam);
  auto mem = arrow::runner::GuestMemory::Create(kRam);
  Check(mem.ok());
  for (const auto& s : k->segments) {
    Check(mem->Write(s.paddr, s.data).ok());
    Check(mem->Zero(s.paddr + s.data.size(), s.memsz - s.data.size()).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = arrow::builder::ReadElfMemory(in, "fuzz");
  (void)r;
  FuzzVmlinux(in);
  return 0;
}
