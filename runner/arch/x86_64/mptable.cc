// MP table construction; see mptable.h.
#include "runner/arch/x86_64/mptable.h"

#include <utility>

#include "runner/arch/x86_64/layout.h"

namespace arrow::runner::x86 {
namespace {

void Put(std::string& s, uint64_t v, int width) {
  for (int i = 0; i < width; i++) s.push_back(static_cast<char>(v >> (8 * i)));
}
void PutAt(std::string& s, size_t off, uint64_t v, int width) {
  for (int i = 0; i < width; i++) s[off + i] = static_cast<char>(v >> (8 * i));
}

constexpr uint8_t kApicVersion = 0x14, kIoapicVersion = 0x11;
constexpr uint8_t kEntryCpu = 0, kEntryBus = 1, kEntryIoapic = 2, kEntryIntsrc = 3,
                  kEntryLintsrc = 4;
constexpr uint8_t kIntInt = 0, kIntNmi = 1, kIntExt = 3;

}  // namespace

uint8_t MpChecksum(std::string_view b) {
  uint8_t sum = 0;
  for (char c : b) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
  return sum;
}

Result<std::string> BuildMptable(int cpus, uint32_t base) {
  if (cpus < 1 || cpus > kMaxCpus)
    return Err("mptable: ", std::to_string(cpus), " vCPUs; between 1 and ",
               std::to_string(kMaxCpus), " are supported");
  const uint8_t ioapic_id = static_cast<uint8_t>(cpus + 1);
  std::string t;  // the configuration table
  t += "PCMP";
  Put(t, 0, 2);         // length, patched below
  Put(t, 4, 1);         // spec revision 1.4
  Put(t, 0, 1);         // checksum, patched below
  t += "ARROWVMM";      // OEM id (8)
  t += "000000000000";  // product id (12)
  Put(t, 0, 4);         // OEM table pointer
  Put(t, 0, 2);         // OEM table size
  Put(t, 0, 2);         // entry count, patched below
  Put(t, layout::kLapicStart, 4);
  Put(t, 0, 4);  // extended table length/checksum/reserved
  int entries = 0;
  for (int i = 0; i < cpus; i++, entries++) {
    Put(t, kEntryCpu, 1);
    Put(t, i, 1);
    Put(t, kApicVersion, 1);
    Put(t, 1 | (i == 0 ? 2 : 0), 1);  // enabled, BSP
    Put(t, 0x600, 4);                 // signature: family 6
    Put(t, 0x201, 4);                 // features: FPU, APIC
    Put(t, 0, 8);
  }
  Put(t, kEntryBus, 1);
  Put(t, 0, 1);
  t += "ISA   ";
  entries++;
  Put(t, kEntryIoapic, 1);
  Put(t, ioapic_id, 1);
  Put(t, kIoapicVersion, 1);
  Put(t, 1, 1);
  Put(t, layout::kIoapicStart, 4);
  entries++;
  for (int irq = 0; irq < kIoapicPins; irq++, entries++) {
    Put(t, kEntryIntsrc, 1);
    Put(t, kIntInt, 1);
    Put(t, 0, 2);
    Put(t, 0, 1);
    Put(t, irq, 1);
    Put(t, ioapic_id, 1);
    Put(t, irq, 1);
  }
  // Local interrupt sources, to every LAPIC (0xff): ExtINT on LINT0, NMI on LINT1.
  for (auto [type, lint] : {std::pair{kIntExt, 0}, std::pair{kIntNmi, 1}}) {
    Put(t, kEntryLintsrc, 1);
    Put(t, type, 1);
    Put(t, 0, 2);  // flags: conforming polarity and trigger
    Put(t, 0, 1);  // source bus
    Put(t, 0, 1);  // source bus irq
    Put(t, 0xff, 1);
    Put(t, lint, 1);
    entries++;
  }
  PutAt(t, 4, t.size(), 2);
  PutAt(t, 34, entries, 2);
  PutAt(t, 7, static_cast<uint8_t>(-MpChecksum(t)), 1);

  std::string fp = "_MP_";
  Put(fp, base + 16, 4);  // physical address of the configuration table
  Put(fp, 1, 1);          // length in 16-byte units
  Put(fp, 4, 1);          // spec revision
  Put(fp, 0, 1);          // checksum, patched below
  Put(fp, 0, 5);          // feature bytes: 0 = a configuration table is present
  PutAt(fp, 10, static_cast<uint8_t>(-MpChecksum(fp)), 1);
  return fp + t;
}

Status WriteMptable(GuestMemory& mem, int cpus) {
  auto t = BuildMptable(cpus, layout::kMptableStart);
  if (!t) return t.error();
  if (layout::kMptableStart + t->size() > layout::kEbdaEnd) return Err("mptable: table too large");
  return mem.Write(layout::kMptableStart, *t);
}

}  // namespace arrow::runner::x86
