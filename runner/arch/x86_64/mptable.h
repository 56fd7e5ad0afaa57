// The Intel MultiProcessor table (MP spec 1.4) that tells a kernel without ACPI how many CPUs
// there are and how ISA interrupts reach the IOAPIC: a "_MP_" floating pointer at
// layout::kMptableStart followed by a "PCMP" configuration table with one processor entry per
// vCPU, an ISA bus, the IOAPIC (id n+1), IRQs 0-23 wired 1:1 and ExtINT/NMI on LINT0/LINT1.
// The guest needs CONFIG_X86_MPPARSE=y.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "runner/vstate/memory.h"

namespace arrow::runner::x86 {

inline constexpr int kMaxCpus = 64;
inline constexpr int kIoapicPins = 24;

// The table's bytes for `cpus` vCPUs, to be placed at `base` (the pointer holds absolute
// addresses).
Result<std::string> BuildMptable(int cpus, uint32_t base);
Status WriteMptable(GuestMemory& mem, int cpus);

// Sum of bytes mod 256 (0 for a valid MP structure).
uint8_t MpChecksum(std::string_view bytes);

}  // namespace arrow::runner::x86
