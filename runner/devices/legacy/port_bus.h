// The port-I/O bus: routes each guest IN/OUT to COM1, the i8042, the exit port or the boot
// timer, and handles every other port as docs/vmm.md §3 says. Ports a Linux guest pokes while
// probing absent hardware (POST 0x80, CMOS 0x70/0x71, PCI 0xcf8-0xcff, COM2-4, DMA, 0x92, 0xed,
// LPT, VGA) read 0 and drop writes; COM2 is Arrow's control channel (ttyS1: stop requests in,
// arrow-init's reports out), never the app's console; anything else reads all-ones like an empty ISA bus and is
// counted so `ARROW_VMM_DEBUG=1` can name it. Accesses wider than a byte reach byte-wide devices
// as their low byte. One mutex serialises all devices (vCPU threads and the console thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>

#include "common/result.h"
#include "runner/devices/legacy/exit_port.h"
#include "runner/devices/legacy/i8042.h"
#include "runner/devices/legacy/serial.h"

namespace arrow::runner {

struct BusEvents {
  std::function<void(uint8_t)> console_out;  // a byte written to COM1
  std::function<void(bool)> com1_irq;        // COM1's interrupt line level
  std::function<void()> reset;               // i8042 pulse-reset
  std::function<void(uint8_t)> exit_status;  // port 0xf4
  std::function<void()> boot_done;           // port 0x4f0
  std::function<void(uint8_t)> control_out;  // a byte written to COM2 (the control channel)
  std::function<void(bool)> com2_irq;        // COM2's interrupt line level
};

class PortBus {
 public:
  explicit PortBus(BusEvents ev);
  // `size` is 1, 2 or 4; the result is zero-extended.
  uint32_t In(uint16_t port, uint8_t size);
  void Out(uint16_t port, uint8_t size, uint32_t value);
  // Console input for COM1; returns bytes accepted.
  size_t ConsoleInput(const uint8_t* data, size_t n);
  size_t ConsoleSpace();
  // Input for the control channel (COM2); returns bytes accepted.
  size_t ControlInput(const uint8_t* data, size_t n);
  // Ports that were neither devices nor on the swallow list, with access counts.
  std::map<uint16_t, uint64_t> UnknownPorts();

  static bool Swallowed(uint16_t port);

 private:
  std::mutex mu_;
  BusEvents ev_;
  Serial com1_;
  Serial com2_;
  I8042 i8042_;
  ExitPort exit_;
  BootTimer timer_;
  std::map<uint16_t, uint64_t> unknown_;
};

// One KVM_EXIT_IO, as the guest left it in the vCPU's kvm_run area: `count` items of `size`
// bytes at `data_offset` (rep ins/outs advance through the data, the port stays). Every field
// is guest-controlled; an out-of-range size, count or offset is an error, never an access.
struct PortIoExit {
  bool out = false;
  uint8_t size = 0;
  uint16_t port = 0;
  uint32_t count = 0;
  uint64_t data_offset = 0;
};
Status DispatchPortIo(PortBus& bus, std::span<uint8_t> run_area, const PortIoExit& io);

}  // namespace arrow::runner
