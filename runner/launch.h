// From an .arrow image and arrow-run's options to a bootable kernel + initrd + command line,
// shared by both backends; and the built-in VMM backend itself.
//
// `-- args`, `--env K=V` and `-v` reach the guest without rebuilding the image: a second, tiny
// initramfs archive is appended to the image's one (the kernel unpacks concatenated archives in
// order, later files replacing earlier ones) holding new /.arrow/argv and /.arrow/env, computed
// from the image config's entrypoint and env, and /.arrow/volumes (the mounts arrow-init makes).
// An arrow with an EROFS root layer gets it as a read-only disk (serial arrow-root) from a
// sealed memfd; volumes are their image files, checked and locked before anything boots.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "packer/arrow_file.h"
#include "runner/net/network.h"
#include "runner/volume.h"
#include "runner/vmm.h"

namespace arrow::runner {

struct RunOptions {
  std::optional<uint64_t> memory;        // bytes; default: the image's
  std::optional<int> cpus;               // default: the image's
  std::chrono::milliseconds timeout{0};  // 0 = none
  std::string accel = "auto";            // qemu: "kvm", "tcg" or "auto"
  std::string qemu_cpu;                  // qemu: -cpu model (default: host with KVM, max with TCG)
  std::vector<std::string> extra_cmdline;        // appended to the kernel command line
  std::optional<std::vector<std::string>> args;  // replace the recipe's args (argv[1..])
  std::vector<std::string> env;                  // "K=V": added to / replacing the image's env
  bool quiet = false;                            // kernel "quiet loglevel=0"
  bool console_input = true;                     // forward stdin to the guest console
  net::NetworkOptions net;                       // -p, -P, --net, --allow-host-loopback
  std::chrono::milliseconds stop_timeout{10000};  // SIGTERM to arrow-run: the app's grace period
  std::vector<std::string> volumes;               // -v IMAGE:/path[:ro]
  std::function<void()> on_guest_up;              // once arrow-init is up (both VMMs)
  std::function<void()> on_ready;                 // once arrow-init's readiness probe passed
  // A traced run: arrow-init records what the app touches (arrow.trace=1; the image needs a
  // kernel with the trace fragment) and its control-channel trace lines go to this file.
  std::string trace_out;
  // The built-in VMM's confinement (--no-seccomp, --uid, --gid); resolv_conf is set here.
  jail::JailOptions jail;
  // Where decompressed vmlinux layers are cached (kernel_layer.h): unset = DefaultCacheDir()
  // + "/vmlinux"; an empty path caches nothing.
  std::optional<std::filesystem::path> kernel_cache;
};

// A virtio-blk disk of one run: its file is open (and, for a volume, locked) in `file`.
struct DiskSpec {
  std::shared_ptr<DiskFile> file;
  std::string serial;    // how arrow-init finds it
  bool read_only = false;
  std::string host;      // a path qemu can open: the image, or /proc/<pid>/fd/<n> for a layer
};

struct BootSpec {
  std::string kernel;       // bzImage or ELF vmlinux bytes
  std::string kernel_file;  // the cached ELF vmlinux, when there is one (qemu boots it in place)
  bool vmlinux = false;     // the kernel layer is an ELF vmlinux
  bool pvh_note = false;    // ... with the PVH entry qemu needs
  std::string initrd;
  std::string cmdline;
  uint64_t memory = 0;
  int cpus = 1;
  // Built from Arrow's tuned configs (the config records a config digest): no ACPI, no PCI,
  // MP-table SMP. qemu's "pc" firmware lists one CPU in its MP table, so such kernels boot on
  // qemu's "microvm" machine, which also starts faster; prebuilt distro kernels stay on "pc".
  bool tuned_kernel = false;
  net::NetworkPlan net;  // checked, ports resolved; its guest parameters are in cmdline
  std::vector<DiskSpec> disks;  // the root layer's disk first, then the volumes in -v order
  std::vector<std::string> notes;  // one-line remarks for the user (ephemeral volumes)
};

// arrow-init's control channel (COM2, both VMMs): stop requests in, "arrow:init" and
// "arrow:exit N" out. Never the app's console.
inline constexpr char kControlCmdline[] = "arrow.ctl=ttyS1";

// Command-line additions for the built-in VMM's machine (no PCI, no ACPI, a bare i8042).
inline constexpr char kBuiltinCmdline[] =
    "acpi=off pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd 8250.nr_uarts=2 "
    "tsc=reliable";

Result<BootSpec> PrepareBoot(const packer::ArrowImage& image, const RunOptions& options);

// The image env with `overrides` applied ("K=V" replaces K, new keys are appended).
std::vector<std::string> MergeEnv(std::vector<std::string> base,
                                  const std::vector<std::string>& overrides);

Result<VmmResult> RunWithBuiltin(const packer::ArrowImage& image, const RunOptions& options);

}  // namespace arrow::runner
