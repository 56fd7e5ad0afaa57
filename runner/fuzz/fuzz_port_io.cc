// libFuzzer target: random port-I/O exits (direction, size, port, count, data offset and data,
// all guest-controlled) against the legacy devices, through the same DispatchPortIo the vCPU
// loop uses. Finds out-of-bounds accesses of the kvm_run area and device state corruption.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "runner/devices/legacy/port_bus.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace arrow::runner;
  BusEvents ev;
  ev.console_out = [](uint8_t) {};
  ev.com1_irq = [](bool) {};
  PortBus bus(ev);
  std::vector<uint8_t> area(4096);  // a kvm_run page: header + I/O data
  while (size >= 12) {
    PortIoExit e;
    e.out = data[0] & 1;
    e.size = data[1];
    std::memcpy(&e.port, data + 2, 2);
    if (data[0] & 2) e.port = static_cast<uint16_t>(0x3f8 + (e.port & 7));  // steer to COM1 often
    uint16_t count, off;
    std::memcpy(&count, data + 4, 2);
    std::memcpy(&off, data + 6, 2);
    e.count = count;
    e.data_offset = off;
    std::memcpy(area.data() + (off & 0xff8), data + 8, 4);
    (void)DispatchPortIo(bus, area, e);
    if (data[0] & 4) {
      uint8_t in[8];
      std::memcpy(in, data + 8, 4);
      bus.ConsoleInput(in, (data[0] >> 5) & 3);
    }
    data += 12;
    size -= 12;
  }
  return 0;
}
