// Raw mode on a terminal stdin for a run's console (the guest's line discipline does the
// editing), restored when the object goes away, on every path out of a run.
#pragma once

#include <termios.h>
#include <unistd.h>

namespace arrow::runner {

class RawTerminal {
 public:
  explicit RawTerminal(bool enable) {
    if (!enable || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;  // keep host-side newline handling for our own messages
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};


}  // namespace arrow::runner
