// 8250 UART register behaviour; see serial.h.
#include "runner/devices/legacy/serial.h"

namespace arrow::runner {

uint8_t Serial::InterruptId() const {
  if ((ier_ & kIerRdi) && !rx_.empty()) return kIirRdi;
  if ((ier_ & kIerThri) && thre_pending_) return kIirThri;
  return kIirNone;
}

void Serial::UpdateIrq() {
  bool level = InterruptId() != kIirNone;
  if (level == level_) return;
  level_ = level;
  if (irq_) irq_(level);
}

uint8_t Serial::Read(uint8_t offset) {
  switch (offset & 7) {
    case kData: {
      if (lcr_ & kLcrDlab) return dll_;
      if (rx_.empty()) return 0;
      uint8_t b = rx_.front();
      rx_.pop_front();
      UpdateIrq();
      return b;
    }
    case kIer:
      return (lcr_ & kLcrDlab) ? dlm_ : ier_;
    case kIir: {
      uint8_t id = InterruptId();
      if (id == kIirThri) {  // reading IIR acknowledges a THRE interrupt
        thre_pending_ = false;
        UpdateIrq();
      }
      return id | kIirFifoBits;
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      return kLsrThre | kLsrTemt | (rx_.empty() ? 0 : kLsrDr);
    case kMsr:
      if (mcr_ & kMcrLoop)  // loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD
        return static_cast<uint8_t>(((mcr_ & 1) << 5) | ((mcr_ & 2) << 3) | ((mcr_ & 4) << 4) |
                                    ((mcr_ & 8) << 4));
      return kMsrDefault;
    default:
      return scr_;
  }
}

void Serial::Write(uint8_t offset, uint8_t v) {
  switch (offset & 7) {
    case kData:
      if (lcr_ & kLcrDlab) {
        dll_ = v;
        return;
      }
      if (mcr_ & kMcrLoop) {
        if (rx_.size() < kRxCapacity) rx_.push_back(v);
      } else if (out_) {
        out_(v);
      }
      thre_pending_ = true;  // the byte left at once: THR is empty again
      UpdateIrq();
      return;
    case kIer:
      if (lcr_ & kLcrDlab) {
        dlm_ = v;
        return;
      }
      if ((v & kIerThri) && !(ier_ & kIerThri)) thre_pending_ = true;  // enabling THRI while empty
      ier_ = v & kIerMask;
      UpdateIrq();
      return;
    case kIir:
      return;  // FCR: FIFOs are always on, nothing to do
    case kLcr:
      lcr_ = v;
      return;
    case kMcr:
      mcr_ = v & 0x1f;
      return;
    case kLsr:
    case kMsr:
      return;  // read-only
    default:
      scr_ = v;
      return;
  }
}

size_t Serial::EnqueueInput(const uint8_t* data, size_t n) {
  size_t k = 0;
  while (k < n && rx_.size() < kRxCapacity) rx_.push_back(data[k++]);
  if (k) UpdateIrq();
  return k;
}

}  // namespace arrow::runner
