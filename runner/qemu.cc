// qemu backend: writes the kernel and initramfs layers to a private temporary directory, runs
// qemu-system-x86_64 with the serial console on our stdio and isa-debug-exit on port 0xf4, and
// maps qemu's exit status back to the app's. A host-side timeout always applies when asked for.
#include "runner/qemu.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/file_util.h"
#include "runner/net/pump.h"
#include "runner/spawn.h"
#include "runner/stop.h"

namespace arrow::runner {
namespace fs = std::filesystem;

bool KvmUsableForLinux(std::string* why) {
  if (access("/dev/kvm", R_OK | W_OK) != 0) {
    *why = std::string("/dev/kvm is not usable: ") + std::strerror(errno);
    return false;
  }
  if (fs::exists("/sys/module/kvm_pvm")) {
    *why = "/dev/kvm is a paravirtual KVM (kvm_pvm) that cannot boot an unmodified Linux guest";
    return false;
  }
  return true;
}

RunResult MapQemuExit(int status, bool timed_out) {
  if (timed_out) return {kExitTimeout, "timed out: the guest was stopped"};
  if (WIFSIGNALED(status))
    return {kExitRunnerError,
            std::string("qemu was killed by signal ") + strsignal(WTERMSIG(status))};
  int code = WEXITSTATUS(status);
  if (code & 1) return {code >> 1, ""};
  if (code == 0)
    return {kExitRunnerError,
            "qemu ended without an exit status from the guest (the console was closed with "
            "Ctrl-A x, or the guest reset: kernel panic, triple fault, /init missing)"};
  return {kExitRunnerError, "qemu failed with exit status " + std::to_string(code)};
}

Result<RunResult> RunWithQemu(const packer::ArrowImage& image, const RunOptions& o) {
  auto boot = PrepareBoot(image, o);
  if (!boot) return boot.error();
  auto tmp = TempDir::Create("arrow-run");
  if (!tmp) return tmp.error();
  // A vmlinux boots through its PVH note; without one qemu would refuse it with a vague error.
  if (boot->vmlinux && !boot->pvh_note)
    return Err("this arrow's kernel is an ELF vmlinux without a PVH entry note (CONFIG_PVH), which "
               "qemu needs to boot it: run it with --vmm builtin, or rebuild it with CONFIG_PVH=y "
               "or [kernel] format = \"bzimage\"");
  // The decompressed vmlinux in the host cache is booted in place; any other kernel is written out.
  const bool cached = !boot->kernel_file.empty();
  const fs::path kpath = cached ? fs::path(boot->kernel_file) : tmp->path() / (boot->vmlinux ? "vmlinux" : "vmlinuz");
  const fs::path ipath = tmp->path() / "initramfs";
  if (!cached) ARROW_TRY(WriteFileAtomic(kpath, boot->kernel));
  ARROW_TRY(WriteFileAtomic(ipath, boot->initrd));
  const uint64_t memory = boot->memory;
  const int cpus = boot->cpus;
  const std::string& cmdline = boot->cmdline;
  std::string why;
  std::string accel = o.accel;
  if (accel == "auto") accel = KvmUsableForLinux(&why) ? "kvm" : "tcg";

  std::vector<std::string> args = {"qemu-system-x86_64",
                                   "-accel",
                                   accel,
                                   "-M",
                                   // acpi=off: with ACPI, microvm describes its virtio-mmio
                                   // devices only in ACPI tables our kernels do not read.
                                   boot->tuned_kernel ? "microvm,acpi=off" : "pc",
                                   "-cpu",
                                   !o.qemu_cpu.empty() ? o.qemu_cpu
                                   : accel == "kvm"    ? "host"
                                                       : "max",
                                   "-m",
                                   std::to_string(memory >> 20) + "M",
                                   "-smp",
                                   std::to_string(cpus),
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-display",
                                   "none",
                                   // The console multiplexed with qemu's monitor: Ctrl-A x quits
                                   // (as with the built-in VMM) and, with signal=off, Ctrl-C
                                   // reaches the app instead of killing qemu.
                                   "-chardev",
                                   "stdio,id=con,mux=on,signal=off",
                                   "-serial",
                                   "chardev:con",
                                   "-mon",
                                   "chardev=con,mode=readline",
                                   "-no-reboot",
                                   "-device",
                                   "isa-debug-exit,iobase=0xf4,iosize=0x04",
                                   "-kernel",
                                   kpath.string(),
                                   "-initrd",
                                   ipath.string(),
                                   "-append",
                                   cmdline};
  // The NIC: qemu's virtio-net on a socket whose other end is Arrow's own backend (libslirp
  // or passt) behind a frame pump, so published ports and isolation match the built-in VMM.
  int guest_sock = -1;
  std::unique_ptr<net::FramePump> pump;
  if (boot->net.enabled) {
    auto backend = net::CreateBackend(boot->net);
    if (!backend) return backend.error();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return Err("socketpair: ", std::strerror(errno));
    guest_sock = sv[1];
    pump = std::make_unique<net::FramePump>(std::move(*backend), sv[0]);
    char mac[32];
    snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", net::kGuestMac[0],
             net::kGuestMac[1], net::kGuestMac[2], net::kGuestMac[3], net::kGuestMac[4],
             net::kGuestMac[5]);
    args.insert(args.end(), {"-netdev", "socket,id=n0,fd=" + std::to_string(guest_sock), "-device",
                             std::string(boot->tuned_kernel ? "virtio-net-device" : "virtio-net-pci") +
                                 ",netdev=n0,mac=" + mac});
  }
  // Disks: the root layer and the volumes, on qemu's virtio-blk with the same serials. With
  // cache=writeback qemu answers a guest FLUSH only after fdatasync, as the built-in VMM does.
  for (size_t i = 0; i < boot->disks.size(); i++) {
    const DiskSpec& d = boot->disks[i];
    std::string file;  // qemu's option syntax doubles commas in values
    for (char ch : d.host) file += ch == ',' ? std::string(",,") : std::string(1, ch);
    const std::string id = "disk" + std::to_string(i);
    args.insert(args.end(),
                {"-drive", "if=none,id=" + id + ",format=raw,cache=writeback,discard=unmap,file=" + file +
                               (d.read_only ? ",read-only=on" : ""),
                 "-device", std::string(boot->tuned_kernel ? "virtio-blk-device" : "virtio-blk-pci") +
                                ",drive=" + id + ",serial=" + d.serial});
  }
  if (!o.quiet)
    for (const auto& n : boot->notes) fprintf(stderr, "arrow-run: %s\n", n.c_str());
  // The control channel: COM2 on a pair of FIFOs (qemu's pipe chardev opens PATH.in and
  // PATH.out); opened here first, read-write and non-blocking, so neither side blocks.
  const std::string ctl = (tmp->path() / "ctl").string();
  for (const char* suffix : {".in", ".out"})
    if (mkfifo((ctl + suffix).c_str(), 0600) != 0)
      return Err("mkfifo ", ctl, suffix, ": ", std::strerror(errno));
  const int ctl_in = open((ctl + ".in").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  const int ctl_out = open((ctl + ".out").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (ctl_in < 0 || ctl_out < 0) return Err("open ", ctl, ": ", std::strerror(errno));
  struct CloseFds {
    int a, b;
    ~CloseFds() {
      close(a);
      close(b);
    }
  } close_ctl{ctl_in, ctl_out};
  args.insert(args.end(), {"-chardev", "pipe,id=ctl,path=" + ctl, "-device",
                           "isa-serial,chardev=ctl,iobase=0x2f8,irq=3"});
  // ARROW_QEMU_EXTRA: extra qemu arguments, space-separated (debugging and benchmarks).
  if (const char* extra = getenv("ARROW_QEMU_EXTRA")) {
    std::string word;
    for (const char* p = extra;; p++) {
      if (*p == ' ' || *p == 0) {
        if (!word.empty()) args.push_back(word);
        word.clear();
        if (!*p) break;
      } else {
        word += *p;
      }
    }
  }
  auto trace = TraceFile::Sink(o.trace_out);  // opened before qemu starts: a bad path fails first
  if (!trace) return trace.error();
  HostSignals signals;
  auto child = SpawnChild(args, guest_sock);
  if (guest_sock >= 0) close(guest_sock);
  if (!child)
    return Err("cannot run qemu-system-x86_64: ", child.message(),
               " (Debian: apt-get install qemu-system-x86)");
  const pid_t pid = *child;
  if (pump) pump->Start();
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  bool timed_out = false, killed = false;
  std::optional<std::chrono::nanoseconds> boot_time;
  std::string why_killed;
  ControlLines lines;
  lines.on_trace = std::move(*trace);
  bool ready_called = false;
  GracefulStop stop(o.stop_timeout);
  auto send_stop = [&] { return lines.init_up() && write(ctl_in, "stop\n", 5) == 5; };
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return Err("waitpid: ", std::strerror(errno));
    const auto now = std::chrono::steady_clock::now();
    char buf[256];
    for (ssize_t n; (n = read(ctl_out, buf, sizeof buf)) > 0;)
      for (ssize_t i = 0; i < n; i++)
        if (lines.Feed(buf[i])) {
          boot_time = now - start;
          if (o.on_guest_up) o.on_guest_up();
        }
    if (!ready_called && lines.ready()) {
      ready_called = true;
      if (o.on_ready) o.on_ready();
    }
    if (auto why = stop.Tick(send_stop)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      killed = true;
      why_killed = std::move(*why);
      break;
    }
    if (o.timeout.count() > 0 && now - start > o.timeout) {
      timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (pump) pump->Stop();
  {  // what the guest wrote just before qemu exited: the last trace and exit lines
    char buf[4096];
    for (ssize_t n; (n = read(ctl_out, buf, sizeof buf)) > 0;)
      for (ssize_t i = 0; i < n; i++) lines.Feed(buf[i]);
  }
  RunResult result = killed ? RunResult{kExitInterrupted, why_killed} : MapQemuExit(status, timed_out);
  // The exit port only carries 7 bits through qemu's process status; the control channel has
  // the whole status (a signal death is 128 + N).
  if (!killed && !timed_out && WIFEXITED(status) && (WEXITSTATUS(status) & 1) && lines.exit_status() >= 0 &&
      (lines.exit_status() & 0x7f) == result.exit_code)
    result.exit_code = lines.exit_status();
  result.boot_time = boot_time;
  result.interrupted = killed;
  return result;
}

}  // namespace arrow::runner
