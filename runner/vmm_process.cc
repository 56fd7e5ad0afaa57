// RunVmm: the VM in a confined child process, supervised from arrow-run's own (jail.h).
//
// The child does the set-up, Confine(), the per-thread seccomp profiles and the run; everything
// with host side effects beyond its devices stays in the parent: the callbacks (instance state,
// trace files, readiness), the terminal (raw mode; stdin is relayed through a pipe, so the child
// can live in its own process group and never touch the TTY), and the host signals, which the
// parent forwards. The child reports over a SOCK_SEQPACKET socket, one message per event:
//   U / R            guest up / ready
//   T<line>          a trace line        C<bytes>  console output (when console_out is set)
//   X<result>        the VmmResult       E<text>   a set-up error
//   S<role> <nr>     a seccomp violation (from the SIGSYS handler)
// The parent treats these as untrusted: sizes are bounded, the result is parsed strictly.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "runner/jail/jail.h"
#include "runner/jail/seccomp.h"
#include "runner/stop.h"
#include "runner/terminal.h"
#include "runner/vmm.h"

namespace arrow::runner {
namespace {

constexpr size_t kMaxMessage = 64 * 1024;  // > ControlLines::kMaxControlLine + 1

void Send(int fd, char kind, std::string_view body) {
  std::string m(1, kind);
  m.append(body);
  // write(), not send(): no extra syscall in the profiles; SIGPIPE is ignored during a run.
  while (write(fd, m.data(), m.size()) < 0 && errno == EINTR) {
  }
}

std::string EncodeResult(const VmmResult& r) {
  std::ostringstream o;
  o << static_cast<int>(r.outcome) << ' ' << r.status << ' '
    << (r.boot_time ? r.boot_time->count() : -1) << ' ' << r.run_time.count() << ' '
    << (r.graceful_stop ? 1 : 0) << '\n'
    << r.message;
  return o.str();
}

std::optional<VmmResult> DecodeResult(std::string_view s) {
  const size_t nl = s.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::istringstream in{std::string(s.substr(0, nl))};
  int outcome = -1, status = 0, graceful = 0;
  long long boot = -1, run = 0;
  if (!(in >> outcome >> status >> boot >> run >> graceful)) return std::nullopt;
  if (outcome < 0 || outcome > static_cast<int>(Outcome::kInterrupted)) return std::nullopt;
  if (status < 0 || status > 255 || run < 0 || (graceful != 0 && graceful != 1)) return std::nullopt;
  VmmResult r;
  r.outcome = static_cast<Outcome>(outcome);
  r.status = status;
  if (boot >= 0) r.boot_time = std::chrono::nanoseconds(boot);
  r.run_time = std::chrono::nanoseconds(run);
  r.graceful_stop = graceful == 1;
  r.message = std::string(s.substr(nl + 1));
  return r;
}

[[noreturn]] void ChildMain(const VmmConfig& c, int report, int stdin_relay,
                            std::vector<int> close_fds, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(125);
  setpgid(0, 0);  // no terminal signals: the parent forwards the host's
  signal(SIGTTOU, SIG_IGN);
  signal(SIGTTIN, SIG_IGN);
  if (stdin_relay >= 0) {
    dup2(stdin_relay, STDIN_FILENO);
    close(stdin_relay);
  }
  VmmConfig cc = c;
  if (c.console_out)
    cc.console_out = [report](std::string_view b) { Send(report, 'C', b); };
  cc.on_guest_up = c.on_guest_up ? std::function<void()>([report] { Send(report, 'U', ""); }) : nullptr;
  cc.on_ready = c.on_ready ? std::function<void()>([report] { Send(report, 'R', ""); }) : nullptr;
  if (c.on_trace) cc.on_trace = [report](const std::string& l) { Send(report, 'T', l); };
  if (c.jail.seccomp) {
    if (auto st = jail::PrepareTrap(report); !st) {
      Send(report, 'E', st.message());
      _exit(125);
    }
  }
  auto confine = [&]() -> Status {
    auto done = jail::Confine(c.jail, close_fds);
    if (!done) return Err("confining the VMM: ", done.message());
    // A uid/gid change clears the parent-death signal: set it again, then make sure the parent
    // did not go away in between.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);
    if (getenv("ARROW_VMM_DEBUG"))
      fprintf(stderr, "arrow-run: VMM pid %d confined: uid %u gid %u, %s, %d inherited fds closed%s\n",
              getpid(), done->uid, done->gid,
              done->empty_root ? "empty root" : ("host root (" + done->root_note + ")").c_str(),
              done->closed_fds, c.jail.seccomp ? ", seccomp on" : ", seccomp off");
    if (c.jail.seccomp) jail::Enable();
    return Ok{};
  };
  auto r = RunVmmHere(cc, confine);
  if (r) Send(report, 'X', EncodeResult(*r));
  else Send(report, 'E', r.message());
  _exit(0);
}

std::string SignalName(int sig) {
  const char* d = sigabbrev_np(sig);
  return d ? std::string("SIG") + d : "signal " + std::to_string(sig);
}

}  // namespace

Result<VmmResult> RunVmm(const VmmConfig& config) {
  if (!config.jail.enabled) return RunVmmHere(config, nullptr);
  ARROW_TRY(CheckVmmConfig(config));
  if ((config.jail.uid || config.jail.gid) && geteuid() != 0)
    return Err("--uid/--gid: the VMM can only change its ids when arrow-run starts as root (it runs as uid ",
               std::to_string(geteuid()), ")");

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return Err("vmm: socketpair: ", std::strerror(errno));
  int relay[2] = {-1, -1};
  if (config.console_input && pipe2(relay, O_CLOEXEC) != 0) {
    close(sv[0]);
    close(sv[1]);
    return Err("vmm: pipe: ", std::strerror(errno));
  }
  // Everything open now is the caller's; the child keeps only what the VM needs.
  // (The parent's ends are closed by the child right after the fork, so they are not in the list:
  // their numbers may be reused by the VMM's own descriptors before Confine runs.)
  std::vector<int> keep = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, sv[0], sv[1], relay[0], relay[1]};
  for (const auto& d : config.disks) keep.push_back(d.fd);
  if (config.net)
    for (int fd : config.net->fds()) keep.push_back(fd);
  std::vector<int> close_fds;
  for (int fd : jail::OpenFds())
    if (std::find(keep.begin(), keep.end(), fd) == keep.end()) close_fds.push_back(fd);
  VmmConfig child_config = config;
  if (geteuid() == 0) {  // the ids are looked up here: the confined child has no /etc/passwd
    const auto ids = jail::DropTarget(config.jail);
    child_config.jail.uid = ids.uid;
    child_config.jail.gid = ids.gid;
  }

  std::optional<RawTerminal> term;
  if (config.console_input) {
    term.emplace(true);
    child_config.console_tty = term->active();
  }
  HostSignals signals;  // counted here, forwarded to the child
  fflush(stdout);
  fflush(stderr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return Err("vmm: fork: ", std::strerror(errno));
  if (pid == 0) {
    close(sv[0]);
    if (relay[1] >= 0) close(relay[1]);
    ChildMain(child_config, sv[1], relay[0], std::move(close_fds), parent);
  }
  close(sv[1]);
  if (relay[0] >= 0) close(relay[0]);
  int to_child = relay[1];
  if (to_child >= 0) fcntl(to_child, F_SETFL, O_NONBLOCK);

  std::optional<VmmResult> result;
  std::string error;
  std::string pending;  // stdin bytes the relay pipe did not take yet
  std::vector<char> buf(kMaxMessage);
  bool stdin_open = to_child >= 0;
  int forwarded = 0;
  for (;;) {
    for (; forwarded < HostSignals::count(); forwarded++) kill(pid, HostSignals::last());
    pollfd p[3] = {{sv[0], POLLIN, 0}, {-1, 0, 0}, {-1, 0, 0}};
    if (stdin_open && pending.empty()) p[1] = {STDIN_FILENO, POLLIN, 0};
    if (!pending.empty()) p[2] = {to_child, POLLOUT, 0};
    if (poll(p, 3, 20) < 0 && errno != EINTR) break;
    if (p[1].revents) {
      char in[4096];
      const ssize_t n = read(STDIN_FILENO, in, sizeof in);
      if (n > 0) {
        pending.assign(in, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {  // EOF: the guest gets no more input
        stdin_open = false;
        close(to_child);
        to_child = -1;
      }
    }
    if (!pending.empty() && to_child >= 0) {
      const ssize_t n = write(to_child, pending.data(), pending.size());
      if (n > 0) pending.erase(0, static_cast<size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR) pending.clear();
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const ssize_t n = recv(sv[0], buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child is gone
    const std::string_view m(buf.data(), static_cast<size_t>(n));
    const std::string_view body = m.substr(1);
    switch (m[0]) {
      case 'U': if (config.on_guest_up) config.on_guest_up(); break;
      case 'R': if (config.on_ready) config.on_ready(); break;
      case 'T': if (config.on_trace) config.on_trace(std::string(body)); break;
      case 'C': if (config.console_out) config.console_out(body); break;
      case 'X':
        result = DecodeResult(body);
        if (!result) error = "vmm: the VMM process sent a malformed result";
        break;
      case 'E': error = std::string(body.substr(0, 4096)); break;
      case 'S': {
        const int role = body.empty() ? -1 : body[0] - '0';
        const int nr = body.size() > 2 ? std::atoi(std::string(body.substr(2, 8)).c_str()) : -1;
        const char* who = role >= 0 && role < static_cast<int>(std::size(jail::kRoles))
                              ? jail::RoleName(jail::kRoles[role])
                              : "?";
        error = std::string("the VMM's ") + who + " thread made a system call outside its seccomp profile: " +
                jail::SyscallName(nr) + "; the VM was stopped (docs/security.md)";
        break;
      }
      default: break;  // unknown: ignored
    }
  }
  if (to_child >= 0) close(to_child);
  close(sv[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!error.empty()) return Err(error);
  if (result) return *result;
  if (WIFSIGNALED(st))
    return Err("vmm: the VMM process was killed by ", SignalName(WTERMSIG(st)));
  return Err("vmm: the VMM process ended (status ", std::to_string(WEXITSTATUS(st)),
             ") without a result");
}

}  // namespace arrow::runner
