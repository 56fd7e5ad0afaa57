// qemu backend: writes the kernel and initramfs layers to a private temporary directory, runs
// qemu-system-x86_64 with the serial console on our stdio and isa-debug-exit on port 0xf4, and
// maps qemu's exit status back to the app's. A host-side timeout always applies when asked for.
#include "runner/qemu.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/file_util.h"

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
                                   boot->tuned_kernel ? "microvm" : "pc",
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
    execvp(argv[0], argv.data());
    int err = errno;
    (void)!write(fds[1], &err, sizeof err);
    _exit(127);
  }
  close(fds[1]);
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
