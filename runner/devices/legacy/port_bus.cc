// Port-I/O dispatch; see port_bus.h.
#include "runner/devices/legacy/port_bus.h"

#include <cstring>

#include "runner/arch/x86_64/layout.h"
#include "runner/vstate/memory.h"

namespace arrow::runner {

PortBus::PortBus(BusEvents ev)
    : ev_(std::move(ev)),
      com1_(
          [this](uint8_t b) {
            if (ev_.console_out) ev_.console_out(b);
          },
          [this](bool l) {
            if (ev_.com1_irq) ev_.com1_irq(l);
          }),
      com2_(
          [this](uint8_t b) {
            if (ev_.control_out) ev_.control_out(b);
          },
          [this](bool l) {
            if (ev_.com2_irq) ev_.com2_irq(l);
          }),
      i8042_([this] {
        if (ev_.reset) ev_.reset();
      }),
      exit_([this](uint8_t s) {
        if (ev_.exit_status) ev_.exit_status(s);
      }),
      timer_([this] {
        if (ev_.boot_done) ev_.boot_done();
      }) {}

bool PortBus::Swallowed(uint16_t p) {
  auto in = [p](uint16_t lo, uint16_t hi) { return p >= lo && p <= hi; };
  return in(0x00, 0x1f) ||  // DMA controller 1
         in(0x70, 0x71) ||  // CMOS/RTC: 0, never 0xFF
         in(0x80, 0x9f) ||  // POST code (io_delay) and DMA page registers
         p == 0x92 ||       // fast A20 / reset
         in(0xc0, 0xdf) ||  // DMA controller 2
         p == 0xed ||       // alternative io_delay
         in(0x278, 0x27a) || in(0x378, 0x37a) || in(0x3bc, 0x3be) ||  // LPT1-3
         in(0x2e8, 0x2ef) || in(0x3e8, 0x3ef) ||                      // COM3-4
         in(0x3b0, 0x3df) ||                                          // VGA
         in(0xcf8, 0xcff);  // PCI configuration mechanism 1 (guests run with pci=off)
}

uint32_t PortBus::In(uint16_t port, uint8_t size) {
  std::lock_guard lock(mu_);
  if (port >= layout::kCom1Base && port < layout::kCom1Base + 8)
    return com1_.Read(static_cast<uint8_t>(port - layout::kCom1Base));
  if (port >= layout::kCom2Base && port < layout::kCom2Base + 8)
    return com2_.Read(static_cast<uint8_t>(port - layout::kCom2Base));
  if (port == layout::kI8042Data || port == layout::kI8042Command)
    return i8042_.Read(static_cast<uint8_t>(port - layout::kI8042Data));
  if (port == layout::kExitPort || port == layout::kBootTimerPort || Swallowed(port)) return 0;
  unknown_[port]++;
  return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

void PortBus::Out(uint16_t port, uint8_t, uint32_t value) {
  std::lock_guard lock(mu_);
  uint8_t b = static_cast<uint8_t>(value);
  if (port >= layout::kCom1Base && port < layout::kCom1Base + 8)
    com1_.Write(static_cast<uint8_t>(port - layout::kCom1Base), b);
  else if (port >= layout::kCom2Base && port < layout::kCom2Base + 8)
    com2_.Write(static_cast<uint8_t>(port - layout::kCom2Base), b);
  else if (port == layout::kI8042Data || port == layout::kI8042Command)
    i8042_.Write(static_cast<uint8_t>(port - layout::kI8042Data), b);
  else if (port == layout::kExitPort)
    exit_.Write(b);
  else if (port == layout::kBootTimerPort)
    timer_.Write();
  else if (!Swallowed(port))
    unknown_[port]++;
}

size_t PortBus::ConsoleInput(const uint8_t* data, size_t n) {
  std::lock_guard lock(mu_);
  return com1_.EnqueueInput(data, n);
}

size_t PortBus::ConsoleSpace() {
  std::lock_guard lock(mu_);
  return com1_.RxSpace();
}

size_t PortBus::ControlInput(const uint8_t* data, size_t n) {
  std::lock_guard lock(mu_);
  return com2_.EnqueueInput(data, n);
}

std::map<uint16_t, uint64_t> PortBus::UnknownPorts() {
  std::lock_guard lock(mu_);
  return unknown_;
}

Status DispatchPortIo(PortBus& bus, std::span<uint8_t> area, const PortIoExit& io) {
  if (io.size != 1 && io.size != 2 && io.size != 4)
    return Err("port I/O of size ", std::to_string(io.size), " at port 0x", Hex(io.port));
  auto data = CheckedSpan(area, io.data_offset, uint64_t{io.size} * io.count, "port I/O data");
  if (!data) return data.error();
  for (uint32_t i = 0; i < io.count; i++) {
    uint8_t* p = data->data() + size_t{i} * io.size;
    uint32_t value = 0;
    if (io.out) {
      std::memcpy(&value, p, io.size);
      bus.Out(io.port, io.size, value);
    } else {
      value = bus.In(io.port, io.size);
      std::memcpy(p, &value, io.size);
    }
  }
  return Ok{};
}

}  // namespace arrow::runner
