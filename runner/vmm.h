// The built-in VMM: boots a Linux bzImage + initramfs on /dev/kvm with a direct 64-bit entry (no
// firmware), or a synthetic guest (raw code in real or long mode, for tests), and runs it until
// the guest reports an exit status, resets, faults, or the host-side timeout fires.
//
// Both kinds of guest run through the same Vm, Vcpu, port bus and run loop; only the loading
// differs. The outcome is a value (Outcome + the guest's status + a message); the CLI alone maps
// it to arrow-run's exit code.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runner/devices/virtio/block.h"
#include "runner/jail/jail.h"
#include "runner/net/backend.h"

namespace arrow::runner {

enum class GuestKind { kLinux, kRealMode, kLongMode };

struct VmmConfig {
  uint64_t memory = 128ull << 20;
  int cpus = 1;
  GuestKind kind = GuestKind::kLinux;
  std::string_view kernel;  // bzImage or ELF vmlinux bytes (kLinux; told apart by the ELF magic)
  std::string_view initrd;  // initramfs bytes, may be empty; several archives may be concatenated
  std::string cmdline;
  std::string_view code;                 // raw guest code (kRealMode at 0x1000, kLongMode at 1 MiB)
  bool irqchip = true;                   // in-kernel PIC/IOAPIC/LAPIC/PIT (always on for Linux)
  std::chrono::milliseconds timeout{0};  // 0 = none
  bool console_input = true;  // forward stdin to COM1 (raw mode on a TTY, Ctrl-A x quits)
  // Set by the supervisor for its VMM child: stdin relays a terminal it put in raw mode.
  bool console_tty = false;
  // Where COM1 output goes; default: stdout.
  std::function<void(std::string_view)> console_out;
  // A virtio-net NIC (virtio-mmio device 0) whose frames go to this backend; none when null.
  // The VMM declares it on the guest's command line (virtio_mmio.device=...).
  std::shared_ptr<net::NetBackend> net;
  // virtio-blk disks (the devices after the NIC), in this order; their files stay the caller's.
  std::vector<virtio::BlockDisk> disks;
  // COM2 (ttyS1) is the control channel of arrow-init (arrow.ctl=ttyS1 on the command line):
  // once init has said "arrow:init" there, SIGINT/SIGTERM/SIGHUP to the VMM becomes a "stop"
  // request (init sends the app SIGTERM) and the app gets `stop_timeout` to exit with its own
  // status; a second signal or the end of the grace period stops the VM at once.
  bool control_channel = false;
  // Called once from the main thread when arrow-init is up (boot timer or control channel).
  std::function<void()> on_guest_up;
  // Called once from the main thread when arrow-init reports its readiness probe passed.
  std::function<void()> on_ready;
  // Trace lines from the control channel (a traced run), called on a vCPU thread.
  std::function<void(const std::string&)> on_trace;
  std::chrono::milliseconds stop_timeout{10000};
  // The VMM process's confinement (jail.h, seccomp.h): on by default.
  jail::JailOptions jail;
};

enum class Outcome {
  kExited,       // the guest wrote its status to port 0xf4
  kTimeout,      // the host-side timeout fired
  kTripleFault,  // KVM_EXIT_SHUTDOWN
  kReset,        // the guest reset or powered off without a status (i8042, system event)
  kHalted,       // HLT without an in-kernel LAPIC (synthetic guests)
  kCrash,        // guest panic event, entry failure, KVM internal error, bad I/O from the guest
  kInterrupted,  // Ctrl-A x, SIGINT/SIGTERM/SIGHUP to arrow-run
};

struct VmmResult {
  Outcome outcome = Outcome::kCrash;
  int status = 0;       // valid for kExited
  std::string message;  // what happened, for every outcome but kExited
  std::optional<std::chrono::nanoseconds> boot_time;  // VMM start -> init's 0x4f0 write
  std::chrono::nanoseconds run_time{0};               // VMM start -> end of the run
  bool graceful_stop = false;  // a host signal was turned into a stop request
};

const char* OutcomeName(Outcome o);

// Errors (bad kernel, no KVM, KVM set-up failures, a VMM process that broke its seccomp profile
// or died) come back as Result errors; everything that happens once the guest runs is a
// VmmResult. With config.jail.enabled the VM runs in a confined child process (vmm_process.cc)
// and this process supervises it: callbacks run here, host signals are forwarded, the
// terminal stays here.
Result<VmmResult> RunVmm(const VmmConfig& config);

// The VM in this process, unconfined except for the per-thread seccomp profiles when
// jail::Enable() was called; `after_setup` runs between set-up and the first KVM_RUN.
Status CheckVmmConfig(const VmmConfig& config);
Result<VmmResult> RunVmmHere(const VmmConfig& config, const std::function<Status()>& after_setup);

}  // namespace arrow::runner
