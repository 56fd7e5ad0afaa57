// The VMM's seccomp profiles and their SIGSYS report; see seccomp.h. Each list says what the
// role's code calls and why (docs/security.md has the same table for readers).
#include "runner/jail/seccomp.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace arrow::runner::jail {
namespace {

// What every thread's runtime needs: glibc's allocator (mmap/munmap/madvise/brk/mremap, never
// with PROT_EXEC), futexes behind mutexes and condition variables, the clocks and sleeps of the
// wait loops, signal return (the vCPU kick, the host-signal handlers), tgkill to our own process
// only (the vCPU kick, abort), and thread/process exit. `write` is in every profile: console
// bytes, eventfd and irqfd signals, and reports to the supervisor are all writes.
const char* const kBase[] = {
    "futex",  "munmap",       "madvise",         "brk",           "mremap",
    "rt_sigreturn", "rt_sigprocmask", "sched_yield", "nanosleep", "clock_nanosleep",
    "clock_gettime", "gettimeofday", "gettid", "getpid",     "exit",
    "exit_group", "restart_syscall", "getrandom", "write"};

// Extra syscalls per role.
const char* const kMainExtra[] = {"poll", "ppoll", "newfstatat", "fstat", "close"};
const char* const kBlockExtra[] = {"poll",    "ppoll",     "read",      "preadv", "pwritev",
                                   "pread64", "pwrite64", "fdatasync", "fsync"};
// libslirp: its sockets for the guest's connections and the published ports; /etc/resolv.conf
// (bind-mounted read-only into the empty root) when the guest asks 10.0.2.3; TAP and passt
// need only read/write on their one fd.
const char* const kNetExtra[] = {
    "poll",      "ppoll",       "read",        "readv",       "writev",     "recvfrom",
    "recvmsg",   "sendto",      "sendmsg",     "connect",     "accept",     "accept4",
    "bind",      "listen",      "setsockopt",  "getsockopt",  "getsockname", "getpeername",
    "shutdown",  "close",       "newfstatat",  "fstat",       "lseek"};
const char* const kConsoleExtra[] = {"poll", "ppoll", "read"};

struct IoctlRule {
  unsigned long request;
  const char* name;
};
const IoctlRule kVcpuIoctls[] = {{KVM_RUN, "KVM_RUN"}, {KVM_IRQ_LINE, "KVM_IRQ_LINE"}};
// The main thread raises COM2's line when it sends a stop request; KVM_GET_(S)REGS for the
// ARROW_VMM_DEBUG dump at the end of a run.
const IoctlRule kMainIoctls[] = {{KVM_IRQ_LINE, "KVM_IRQ_LINE"},
                                 {KVM_GET_REGS, "KVM_GET_REGS"},
                                 {KVM_GET_SREGS, "KVM_GET_SREGS"}};
const IoctlRule kConsoleIoctls[] = {{KVM_IRQ_LINE, "KVM_IRQ_LINE"}};  // COM1's line on input
const IoctlRule kNetIoctls[] = {{FIONREAD, "FIONREAD"}};

template <size_t N>
std::vector<const char*> List(const char* const (&a)[N]) {
  return std::vector<const char*>(a, a + N);
}

std::vector<const char*> Extra(Role r) {
  switch (r) {
    case Role::kMain: return List(kMainExtra);
    case Role::kVcpu: return {};
    case Role::kBlock: return List(kBlockExtra);
    case Role::kNet: return List(kNetExtra);
    case Role::kConsole: return List(kConsoleExtra);
  }
  return {};
}

std::vector<IoctlRule> Ioctls(Role r) {
  switch (r) {
    case Role::kMain: return {std::begin(kMainIoctls), std::end(kMainIoctls)};
    case Role::kVcpu: return {std::begin(kVcpuIoctls), std::end(kVcpuIoctls)};
    case Role::kConsole: return {std::begin(kConsoleIoctls), std::end(kConsoleIoctls)};
    case Role::kNet: return {std::begin(kNetIoctls), std::end(kNetIoctls)};
    case Role::kBlock: return {};
  }
  return {};
}

// The syscalls a role may make only with certain arguments: each comparison is one allowed
// form (rules for the same syscall are alternatives). The one table both Install and Profile use.
struct Restricted {
  std::string name;
  std::string only;  // what Profile() says of it
  std::vector<scmp_arg_cmp> forms;
};

std::vector<Restricted> RestrictedRules(Role r) {
  const auto eq = [](unsigned arg, scmp_datum_t v) {
    return scmp_arg_cmp{arg, SCMP_CMP_EQ, v, 0};
  };
  const scmp_arg_cmp no_exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
  std::vector<Restricted> out = {
      {"mmap", "no PROT_EXEC", {no_exec}},
      {"mprotect", "no PROT_EXEC", {no_exec}},
      {"tgkill", "this process only", {eq(0, static_cast<scmp_datum_t>(getpid()))}},
  };
  // The run restores its signal handlers on the way out; never SIGSYS's.
  if (r == Role::kMain) out.push_back({"rt_sigaction", "any signal but SIGSYS", {SCMP_A0(SCMP_CMP_NE, SIGSYS)}});
  // Discard and write-zeroes; the image never grows.
  if (r == Role::kBlock)
    out.push_back({"fallocate", "FALLOC_FL_KEEP_SIZE (never grows the image)",
                   {SCMP_A1(SCMP_CMP_MASKED_EQ, FALLOC_FL_KEEP_SIZE, FALLOC_FL_KEEP_SIZE)}});
  if (r == Role::kNet) {
    out.push_back({"socket", "AF_INET, AF_INET6", {eq(0, AF_INET), eq(0, AF_INET6)}});
    out.push_back({"fcntl", "F_GETFL, F_SETFL, F_GETFD, F_SETFD",
                   {eq(1, F_GETFL), eq(1, F_SETFL), eq(1, F_GETFD), eq(1, F_SETFD)}});
    out.push_back({"openat", "read-only",
                   {SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, 0)}});
  }
  Restricted io{"ioctl", "", {}};
  for (const auto& i : Ioctls(r)) {
    io.only += (io.only.empty() ? "" : ", ") + std::string(i.name);
    io.forms.push_back(SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, i.request));
  }
  if (!io.forms.empty()) out.push_back(std::move(io));
  return out;
}

std::atomic<int> g_report_fd{-1};
std::atomic<bool> g_enabled{false};
thread_local Role t_role = Role::kMain;

// Async-signal-safe: formats into a stack buffer, writes, exits. Never returns.
void OnSigsys(int, siginfo_t* si, void*) {
  char msg[48];
  int n = 0;
  msg[n++] = 'S';
  msg[n++] = static_cast<char>('0' + static_cast<int>(t_role));
  msg[n++] = ' ';
  char digits[12];
  int d = 0;
  unsigned v = static_cast<unsigned>(si->si_syscall);
  do {
    digits[d++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && d < 11);
  while (d) msg[n++] = digits[--d];
  const int fd = g_report_fd.load();
  if (fd >= 0) {
    (void)!write(fd, msg, static_cast<size_t>(n));
  } else {  // no supervisor: say it on stderr (role digit, syscall number)
    static const char kStderr[] = "arrow-run: seccomp: a system call outside the profile: ";
    (void)!write(STDERR_FILENO, kStderr, sizeof kStderr - 1);
    msg[n++] = '\n';
    (void)!write(STDERR_FILENO, msg + 1, static_cast<size_t>(n - 1));
  }
  syscall(SYS_exit_group, 125);
  for (;;) {
  }
}

Status Add(scmp_filter_ctx ctx, const char* name, unsigned count = 0,
           const scmp_arg_cmp* args = nullptr) {
  const int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return Err("seccomp: unknown syscall ", name);
  const int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, count, args);
  if (rc < 0) return Err("seccomp: rule for ", name, ": ", std::strerror(-rc));
  return Ok{};
}

}  // namespace

const char* RoleName(Role r) {
  switch (r) {
    case Role::kMain: return "vmm";
    case Role::kVcpu: return "vcpu";
    case Role::kBlock: return "virtio-blk";
    case Role::kNet: return "virtio-net";
    case Role::kConsole: return "console";
  }
  return "?";
}

std::vector<Allowed> Profile(Role r) {
  std::vector<Allowed> out;
  for (const char* s : kBase) out.push_back({s, ""});
  for (const char* s : Extra(r)) out.push_back({s, ""});
  for (const auto& rule : RestrictedRules(r)) out.push_back({rule.name, rule.only});
  return out;
}

Status PrepareTrap(int report_fd) {
  g_report_fd.store(report_fd);
  struct sigaction sa {};
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0) return Err("sigaction(SIGSYS): ", std::strerror(errno));
  return Ok{};
}

Status Install(Role r) {
  t_role = r;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Err("prctl(PR_SET_NO_NEW_PRIVS): ", std::strerror(errno));
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (!ctx) return Err("seccomp_init failed");
  struct Free {
    scmp_filter_ctx c;
    ~Free() { seccomp_release(c); }
  } free_ctx{ctx};
  for (const char* s : kBase) ARROW_TRY(Add(ctx, s));
  for (const char* s : Extra(r)) ARROW_TRY(Add(ctx, s));
  for (const auto& rule : RestrictedRules(r))
    for (const auto& form : rule.forms) ARROW_TRY(Add(ctx, rule.name.c_str(), 1, &form));
  const int rc = seccomp_load(ctx);
  if (rc < 0) return Err("seccomp_load (", RoleName(r), "): ", std::strerror(-rc));
  return Ok{};
}

void Enable() { g_enabled.store(true); }
bool Enabled() { return g_enabled.load(); }

void EnterThread(Role r) {
  if (!g_enabled.load()) return;
  prctl(PR_SET_NAME, RoleName(r), 0, 0, 0);  // /proc/PID/task/*/comm shows each thread's role
  if (auto st = Install(r); !st) {
    const int fd = g_report_fd.load();
    const std::string m = "E" + st.message();
    if (fd >= 0) (void)!write(fd, m.data(), m.size());
    fprintf(stderr, "arrow-run: %s\n", st.message().c_str());
    syscall(SYS_exit_group, 125);
  }
}

std::string SyscallName(int nr) {
  char* n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
  std::string s = n ? std::string(n) + " (" + std::to_string(nr) + ")" : "syscall " + std::to_string(nr);
  free(n);
  return s;
}

}  // namespace arrow::runner::jail
