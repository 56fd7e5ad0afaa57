// The guest-contract ports (docs/architecture.md, "Guest contract"): a byte written to 0xf4 is
// the app's exit status (the same port QEMU's isa-debug-exit uses), and any write to 0x4f0 is the
// "init started" signal of the boot timer, timestamped here by the VMM like Firecracker's
// boot-timer device.
#pragma once

#include <cstdint>
#include <functional>

namespace arrow::runner {

class ExitPort {
 public:
  explicit ExitPort(std::function<void(uint8_t status)> on_exit) : on_exit_(std::move(on_exit)) {}
  void Write(uint8_t value) {
    if (on_exit_) on_exit_(value);
  }

 private:
  std::function<void(uint8_t)> on_exit_;
};

class BootTimer {
 public:
  explicit BootTimer(std::function<void()> on_signal) : on_signal_(std::move(on_signal)) {}
  void Write() {
    if (on_signal_) on_signal_();
  }

 private:
  std::function<void()> on_signal_;
};

}  // namespace arrow::runner
