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
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/file_util.h"
#include "runner/net/pump.h"

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
  const fs::path kpath = tmp->path() / "vmlinuz", ipath = tmp->path() / "initramfs";
  ARROW_TRY(WriteFileAtomic(kpath, boot->kernel));
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
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // A close-on-exec pipe tells an exec failure (the child writes errno) from qemu's own exit.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Err("pipe: ", std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) return Err("fork: ", std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    if (guest_sock >= 0) fcntl(guest_sock, F_SETFD, 0);  // qemu inherits its NIC's socket
    execvp(argv[0], argv.data());
    int err = errno;
    (void)!write(fds[1], &err, sizeof err);
    _exit(127);
  }
  close(fds[1]);
  if (guest_sock >= 0) close(guest_sock);
  if (pump) pump->Start();
  int exec_errno = 0;
  ssize_t got = read(fds[0], &exec_errno, sizeof exec_errno);
  close(fds[0]);
  if (got == sizeof exec_errno) {
    waitpid(pid, nullptr, 0);
    return Err("cannot run qemu-system-x86_64: ", std::strerror(exec_errno),
               " (Debian: apt-get install qemu-system-x86)");
  }
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  bool timed_out = false;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return Err("waitpid: ", std::strerror(errno));
    if (o.timeout.count() > 0 && std::chrono::steady_clock::now() - start > o.timeout) {
      timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return MapQemuExit(status, timed_out);
}

}  // namespace arrow::runner
