// libFuzzer target: random port-I/O exits (direction, size, port, count, data offset and data,
// all guest-controlled) against the legacy devices, through the same DispatchPortIo the vCPU
// loop uses: COM1 (the console), COM2 (the control channel, whose output feeds the host's
// control-line parser), the i8042, the exit port and the boot timer. Finds out-of-bounds
// accesses of the kvm_run area and device state corruption.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "runner/devices/legacy/port_bus.h"
#include "runner/stop.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace arrow::runner;
  BusEvents ev;
  ControlLines ctl;
  size_t traced = 0;
  ctl.on_trace = [&traced](const std::string& line) { traced += line.size(); };
  ev.console_out = [](uint8_t) {};
  ev.com1_irq = [](bool) {};
  ev.com2_irq = [](bool) {};
  ev.reset = [] {};
  ev.exit_status = [](uint8_t) {};
  ev.boot_done = [] {};
  ev.control_out = [&ctl](uint8_t b) { ctl.Feed(static_cast<char>(b)); };
  PortBus bus(ev);
  std::vector<uint8_t> area(4096);  // a kvm_run page: header + I/O data
  while (size >= 12) {
    PortIoExit e;
    e.out = data[0] & 1;
    e.size = data[1];
    std::memcpy(&e.port, data + 2, 2);
    if (data[0] & 2)  // steer to COM1 or COM2 often
      e.port = static_cast<uint16_t>(((data[0] & 8) ? 0x2f8 : 0x3f8) + (e.port & 7));
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
      if (data[0] & 16) bus.ControlInput(in, (data[0] >> 5) & 3);
      else bus.ConsoleInput(in, (data[0] >> 5) & 3);
    }
    data += 12;
    size -= 12;
  }
  return 0;
}
