// Every guest-physical address the built-in VMM uses, in one place (docs/vmm.md §1).
//
// Low memory holds the boot structures (GDT, IDT, zero page, page tables, command line, MP
// table); the kernel is loaded at 1 MiB and the initrd at the top of low RAM. A 1 GiB hole
// below 4 GiB is reserved for MMIO (IOAPIC, LAPIC, KVM's TSS); RAM resumes at 4 GiB.
#pragma once

#include <cstdint>

namespace arrow::runner::layout {

inline constexpr uint64_t kGdtStart = 0x500;
inline constexpr uint64_t kIdtStart = 0x520;
inline constexpr uint64_t kZeroPageStart = 0x7000;
inline constexpr uint64_t kBootStackPointer = 0x8ff0;
inline constexpr uint64_t kPml4Start = 0x9000;
inline constexpr uint64_t kPdptStart = 0xa000;
inline constexpr uint64_t kPdStart = 0xb000;
inline constexpr uint64_t kCmdlineStart = 0x20000;
inline constexpr uint64_t kCmdlineMaxSize = 2048;       // including the NUL
inline constexpr uint64_t kMptableStart = 0x9fc00;      // end of base RAM, reserved in e820
inline constexpr uint64_t kEbdaEnd = 0xe0000;           // reserved [kMptableStart, kEbdaEnd)
inline constexpr uint64_t kHimemStart = 0x100000;       // bzImage protected-mode code
inline constexpr uint64_t kMmioHoleStart = 0xc0000000;  // 1 GiB hole below 4 GiB
inline constexpr uint64_t kMmioHoleSize = 0x40000000;
inline constexpr uint64_t k4GiB = 0x100000000;
inline constexpr uint64_t kIoapicStart = 0xfec00000;
inline constexpr uint64_t kLapicStart = 0xfee00000;
inline constexpr uint64_t kKvmTssStart = 0xfffbd000;       // 3 pages, inside the hole
inline constexpr uint64_t kIdentityMapStart = 0xfffbc000;  // 1 page, just below the TSS

// virtio-mmio devices: one 4 KiB window each from the start of the hole (device i at
// kVirtioMmioStart + i * kVirtioMmioSize), interrupt kVirtioIrqStart + i on the IOAPIC (ISA
// lines 5.. are free: COM1 is 4, COM2 3). Declared to the guest on the command line.
inline constexpr uint64_t kVirtioMmioStart = 0xc0001000;
inline constexpr uint64_t kVirtioMmioSize = 0x1000;
inline constexpr uint32_t kVirtioIrqStart = 5;
inline constexpr int kMaxVirtioDevices = 8;

// Synthetic real-mode guests (tests) start here with CS=0.
inline constexpr uint64_t kRealModeEntry = 0x1000;

// Boot-protocol I/O ports (docs/architecture.md, "Guest contract").
inline constexpr uint16_t kExitPort = 0xf4;        // the app's exit status byte
inline constexpr uint16_t kBootTimerPort = 0x4f0;  // "init started"
inline constexpr uint16_t kCom1Base = 0x3f8;
inline constexpr uint32_t kCom1Irq = 4;
inline constexpr uint16_t kCom2Base = 0x2f8;  // the control channel (ttyS1)
inline constexpr uint32_t kCom2Irq = 3;
inline constexpr uint16_t kI8042Data = 0x60;
inline constexpr uint16_t kI8042Command = 0x64;

}  // namespace arrow::runner::layout
