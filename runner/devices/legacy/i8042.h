// A minimal i8042 keyboard controller, there for one reason: the guest reboots with "reboot=k" by
// writing 0xFE (pulse reset) to port 0x64, which becomes a reset event for the VMM. The few
// controller commands Linux's i8042 driver issues while probing get plausible answers through the
// data port (OBF set in the status register) so probing ends at once instead of timing out.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>

namespace arrow::runner {

class I8042 {
 public:
  static constexpr uint8_t kStatusObf = 0x01, kStatusSys = 0x04, kStatusCmd = 0x08;
  static constexpr uint8_t kCmdReadCtr = 0x20, kCmdWriteCtr = 0x60, kCmdSelfTest = 0xaa;
  static constexpr uint8_t kCmdPortTest = 0xab, kCmdReset = 0xfe;

  explicit I8042(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}
  // `port_offset` 0 = data (0x60), 4 = status/command (0x64).
  uint8_t Read(uint8_t port_offset);
  void Write(uint8_t port_offset, uint8_t value);

 private:
  std::function<void()> on_reset_;
  std::deque<uint8_t> out_;
  uint8_t ctr_ = 0x00, status_ = kStatusSys;
  bool expect_ctr_ = false;
};

}  // namespace arrow::runner
