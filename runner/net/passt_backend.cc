// passt child process + length-prefixed frame stream; see passt_backend.h.
#include "runner/net/passt_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runner/net/stream.h"
#include "runner/spawn.h"

namespace arrow::runner::net {
namespace {

// Fails when `m`'s host port cannot be bound right now (in use, or not permitted).
Status CheckPortFree(const PortMapping& m) {
  int fd = socket(AF_INET, (m.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err("-p ", m.ToString(), ": socket: ", std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(m.host_port);
  inet_pton(AF_INET, m.host_addr.c_str(), &a.sin_addr);
  int r = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int e = errno;
  close(fd);
  if (r != 0)
    return Err("-p ", m.ToString(), ": cannot listen on ", m.host_addr, ":",
               std::to_string(m.host_port), ": ",
               e == EADDRINUSE ? "the port is already in use" : std::strerror(e));
  return Ok{};
}

class PasstBackend final : public NetBackend {
 public:
  PasstBackend(pid_t pid, int fd, int mtu) : pid_(pid), fd_(fd), mtu_(mtu) {}
  ~PasstBackend() override {
    close(fd_);  // passt (-F implies one-off) exits when its socket closes
    int st;
    for (int i = 0; i < 50 && waitpid(pid_, &st, WNOHANG) == 0; i++) usleep(10000);
    if (waitpid(pid_, &st, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
    }
  }
  void AddPollFds(std::vector<pollfd>& fds, int*, bool can_receive) override {
    short ev = static_cast<short>((can_receive && !broken_ ? POLLIN : 0) |
                                  (writer_.empty() ? 0 : POLLOUT));
    fds.push_back({fd_, ev, 0});
  }
  void HandlePollFds(std::span<const pollfd> fds) override {
    if (fds.empty() || broken_) return;
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      uint8_t buf[65536];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n == 0) Broken("passt exited");
      if (n > 0) {
        auto st = reader_.Feed({buf, static_cast<size_t>(n)}, [this](std::span<const uint8_t> f) {
          if (sink_) sink_(f);
        });
        if (!st) Broken("passt broke the frame protocol (" + st.message() + ")");
      }
    }
    if (!writer_.Flush(fd_)) Broken("passt stopped reading its socket");
  }
  void Send(std::span<const uint8_t> frame) override {
    if (broken_) return;
    writer_.Queue(frame);
    if (!writer_.Flush(fd_)) Broken("passt stopped reading its socket");
  }
  int mtu() const override { return mtu_; }
  std::string Describe() const override { return "passt (pid " + std::to_string(pid_) + ")"; }
  std::vector<int> fds() const override { return {fd_}; }

 private:
  // Said once: the guest keeps running, without a network.
  void Broken(const std::string& why) {
    if (broken_) return;
    broken_ = true;
    fprintf(stderr, "arrow-run: --net passt: %s; the guest's network is down (passt's own message, if any, is above)\n",
            why.c_str());
  }
  pid_t pid_;
  int fd_, mtu_;
  bool broken_ = false;
  FrameReader reader_;
  FrameWriter writer_;
};

}  // namespace

std::vector<std::string> PasstArgs(const PasstOptions& o, int fd) {
  std::vector<std::string> a = {o.binary, "--foreground", "--quiet", "--fd", std::to_string(fd),
                                "--ipv4-only", "--address", kGuestIp, "--netmask",
                                std::to_string(kGuestPrefix), "--gateway", kGatewayIp,
                                "--dns-forward", kDnsIp, "--mtu", std::to_string(o.mtu),
                                "--no-dhcp-dns", "--no-dhcp-search"};
  // Started as root, passt drops to "nobody" by name, which needs a passwd database (absent in
  // minimal systems such as an arrow); the numeric id needs none.
  if (geteuid() == 0) a.insert(a.end(), {"--runas", "65534:65534"});
  if (!o.allow_host_loopback) a.push_back("--no-map-gw");
  std::string tcp, udp;
  for (const auto& m : o.ports) {
    std::string& list = m.udp ? udp : tcp;
    std::string spec = m.host_addr == "0.0.0.0" ? "" : m.host_addr + "/";
    spec += std::to_string(m.host_port) + ":" + std::to_string(m.guest_port);
    list += (list.empty() ? "" : ",") + spec;
  }
  a.insert(a.end(), {"--tcp-ports", tcp.empty() ? "none" : tcp});
  a.insert(a.end(), {"--udp-ports", udp.empty() ? "none" : udp});
  return a;
}

Result<std::unique_ptr<NetBackend>> CreatePasstBackend(const PasstOptions& o) {
  for (const auto& m : o.ports) ARROW_TRY(CheckPortFree(m));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Err("--net passt: socketpair: ", std::strerror(errno));
  auto child = SpawnChild(PasstArgs(o, sv[1]), sv[1]);  // passt inherits the guest's end
  close(sv[1]);
  if (!child) {
    close(sv[0]);
    return Err("--net passt: cannot run '", o.binary, "': ", child.message(),
               " (Debian: apt-get install passt)");
  }
  const pid_t pid = *child;
  // passt exits at once on a bad option or a port it cannot bind: give it a moment to say so.
  for (int i = 0; i < 20; i++) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      close(sv[0]);
      return Err("--net passt: passt exited at start (status ",
                 std::to_string(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)),
                 "; run `", o.binary, " --help` or check its message above)");
    }
    usleep(5000);
  }
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<NetBackend>(new PasstBackend(pid, sv[0], o.mtu));
}

}  // namespace arrow::runner::net
