// The qemu backend of arrow-run: boots an arrow with qemu-system-x86_64 under the same contract
// as the built-in VMM (serial console on the terminal, exit status through I/O port 0xf4).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "packer/arrow_file.h"
#include "runner/launch.h"

namespace arrow::runner {

// Exit codes of arrow-run besides the app's own (docs/architecture.md, "Guest contract").
inline constexpr int kExitTimeout = 124;
inline constexpr int kExitRunnerError = 125;

struct RunResult {
  int exit_code = 0;      // what arrow-run exits with
  std::string diagnosis;  // why, when it is not the app's own status
  // qemu start -> arrow-init's "arrow:init" on the control channel.
  std::optional<std::chrono::nanoseconds> boot_time;
  bool interrupted = false;  // stopped by a host signal without the app's own status
};

inline constexpr int kExitInterrupted = 130;

// True when /dev/kvm can run an unmodified Linux guest (exists, opens, and is not the
// paravirtual PVM flavour which only runs PVM-aware kernels). `why` says why not.
bool KvmUsableForLinux(std::string* why);

// Maps qemu's exit status to arrow-run's: isa-debug-exit makes qemu exit (v << 1) | 1.
RunResult MapQemuExit(int wait_status, bool timed_out);

Result<RunResult> RunWithQemu(const packer::ArrowImage& image, const RunOptions& options);

}  // namespace arrow::runner
