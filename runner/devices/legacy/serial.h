// An 8250/16550A UART as Linux's 8250 driver expects it (docs/vmm.md §3).
//
// Output bytes go to a sink; input bytes are queued by the VMM's console thread. The interrupt
// is level-triggered: the device tells the VMM whenever its line changes, and the VMM forwards
// that with KVM_IRQ_LINE. The rules that matter for a fast, correct boot: LSR idles at THRE|TEMT
// (0x60; 0 makes the driver stall for seconds), IIR reads as id|0xC0 (16550A FIFO bits), reading
// IIR clears a pending THRE interrupt, and THRE is raised after each THR write and when THRI is
// enabled while the transmitter is empty. Not thread-safe: the caller serialises access.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>

namespace arrow::runner {

class Serial {
 public:
  // Register offsets from the base port.
  enum : uint8_t {
    kData = 0,
    kIer = 1,
    kIir = 2,
    kLcr = 3,
    kMcr = 4,
    kLsr = 5,
    kMsr = 6,
    kScr = 7
  };
  static constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02, kIerMask = 0x0f;
  static constexpr uint8_t kIirNone = 0x01, kIirThri = 0x02, kIirRdi = 0x04, kIirFifoBits = 0xc0;
  static constexpr uint8_t kLsrDr = 0x01, kLsrThre = 0x20, kLsrTemt = 0x40;
  static constexpr uint8_t kLcrDlab = 0x80, kMcrOut2 = 0x08, kMcrLoop = 0x10;
  static constexpr uint8_t kMsrDefault = 0xb0;  // DCD | DSR | CTS
  static constexpr size_t kRxCapacity = 64;

  using Sink = std::function<void(uint8_t)>;
  using IrqLine = std::function<void(bool level)>;
  Serial(Sink out, IrqLine irq) : out_(std::move(out)), irq_(std::move(irq)) {}

  uint8_t Read(uint8_t offset);
  void Write(uint8_t offset, uint8_t value);

  // Queues input for the guest; returns how many bytes fit.
  size_t EnqueueInput(const uint8_t* data, size_t n);
  size_t RxSpace() const { return kRxCapacity - rx_.size(); }
  bool irq_level() const { return level_; }

 private:
  uint8_t InterruptId() const;
  void UpdateIrq();

  Sink out_;
  IrqLine irq_;
  std::deque<uint8_t> rx_;
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = kMcrOut2, scr_ = 0, dll_ = 0x0c, dlm_ = 0;
  bool thre_pending_ = false;
  bool level_ = false;
};

}  // namespace arrow::runner
