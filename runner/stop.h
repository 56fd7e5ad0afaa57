// How a run ends on the host's request, the same for both VMM backends.
//
// While a VMM runs, SIGINT, SIGTERM and SIGHUP are counted instead of killing arrow-run, and
// SIGPIPE is ignored (libslirp writes to sockets of published-port clients that went away).
// arrow-init announces itself on the control channel (ttyS1) with "arrow:init"; the first host
// signal after that becomes a graceful stop: "stop" on the channel (init sends the app SIGTERM)
// and a grace period, after which, or on a second signal, the VM is stopped. A signal that
// arrives before init is up stops the VM at once.
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

namespace arrow::runner {

// Process-wide while it lives (one at a time); the previous dispositions come back after it.
class HostSignals {
 public:
  HostSignals();
  ~HostSignals();
  HostSignals(const HostSignals&) = delete;
  HostSignals& operator=(const HostSignals&) = delete;
  static int count();  // signals since construction
  static int last();   // the latest one

 private:
  static constexpr int kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  struct sigaction old_[4]{};
};

// arrow-init's lines on the control channel, fed byte by byte; lines are bounded so a guest
// cannot grow the buffer (kMaxControlLine: a trace line holds two escaped paths).
class ControlLines {
 public:
  static constexpr size_t kMaxControlLine = 40000;
  // The lines of a traced run ("arrow:trace ...", "arrow:trace-end N", "arrow:trace-error
  // WHAT"), handed over as they complete; set before the guest starts. Overlong lines are
  // dropped whole, never cut.
  std::function<void(const std::string&)> on_trace;
  // True exactly once: when the line "arrow:init" completes for the first time.
  bool Feed(char b);
  bool init_up() const { return init_up_.load(); }
  // arrow-init's readiness probe ([app] ready = "tcp:..." / "http:...") succeeded: "arrow:ready".
  bool ready() const { return ready_.load(); }
  // The status of "arrow:exit N" (0-255), -1 before it. qemu's isa-debug-exit reports the exit
  // port as (N << 1) | 1 in an 8-bit process status, so N >= 128 only arrives whole here.
  int exit_status() const { return exit_status_.load(); }

 private:
  std::string line_;
  bool overlong_ = false;
  std::atomic<bool> init_up_{false};
  std::atomic<bool> ready_{false};
  std::atomic<int> exit_status_{-1};
};

// Where a traced run's lines go (RunOptions::trace_out): one file, created or truncated
// when the run starts, each line written as it comes.
class TraceFile {
 public:
  static Result<std::shared_ptr<TraceFile>> Open(const std::string& path);
  // ControlLines::on_trace writing to a file at `path`; an empty function when `path` is empty.
  static Result<std::function<void(const std::string&)>> Sink(const std::string& path);
  ~TraceFile();
  void Append(const std::string& line);

 private:
  int fd_ = -1;
};

class GracefulStop {
 public:
  explicit GracefulStop(std::chrono::milliseconds grace) : grace_(grace) {}
  // On every tick of a VMM's wait loop. `send_stop` writes the stop request to the control
  // channel and says whether it went through (false: no channel, or init is not up yet).
  // Returns why the VM must stop now, if it must.
  std::optional<std::string> Tick(const std::function<bool()>& send_stop);
  bool requested() const { return requested_; }

 private:
  std::chrono::milliseconds grace_;
  int seen_ = 0;
  bool requested_ = false;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

}  // namespace arrow::runner
