// i8042 reset device; see i8042.h.
#include "runner/devices/legacy/i8042.h"

namespace arrow::runner {

uint8_t I8042::Read(uint8_t off) {
  if (off == 4) return static_cast<uint8_t>(status_ | (out_.empty() ? 0 : kStatusObf));
  if (out_.empty()) return 0;
  uint8_t b = out_.front();
  out_.pop_front();
  return b;
}

void I8042::Write(uint8_t off, uint8_t v) {
  if (out_.size() > 16) out_.clear();  // a guest that never reads must not grow the queue
  if (off == 4) {
    status_ |= kStatusCmd;
    switch (v) {
      case kCmdReadCtr:
        out_.push_back(ctr_);
        break;
      case kCmdWriteCtr:
        expect_ctr_ = true;
        break;
      case kCmdSelfTest:
        out_.push_back(0x55);
        break;
      case kCmdPortTest:
        out_.push_back(0x00);
        break;
      case kCmdReset:
        if (on_reset_) on_reset_();
        break;
      default:
        break;
    }
    return;
  }
  status_ &= static_cast<uint8_t>(~kStatusCmd);
  if (expect_ctr_) {
    ctr_ = v;
    expect_ctr_ = false;
    return;
  }
  out_.push_back(0xfa);  // keyboard command: ACK
}

}  // namespace arrow::runner
