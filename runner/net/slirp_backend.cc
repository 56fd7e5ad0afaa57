// libslirp glue: configuration, timers, poll integration and port forwards; see slirp_backend.h.
#include "runner/net/slirp_backend.h"

#include <arpa/inet.h>
#include <libslirp.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <list>

#include "runner/jail/jail.h"
#include "runner/net/guard.h"

namespace arrow::runner::net {
namespace {

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct Timer {
  SlirpTimerId id;
  void* cb_opaque;
  int64_t expire_ms = -1;  // -1: not armed
};

class SlirpBackend final : public NetBackend {
 public:
  explicit SlirpBackend(const SlirpOptions& o) : options_(o) {
    guard_.allow_host_loopback = o.allow_host_loopback;
    for (const auto& p : o.ports)
      if (p.udp) guard_.udp_guest_ports.push_back(p.guest_port);
  }
  ~SlirpBackend() override {
    if (slirp_) slirp_cleanup(slirp_);
  }

  Status Init();
  Status InitSlirp();
  void AddPollFds(std::vector<pollfd>& fds, int* timeout_ms, bool can_receive) override;
  void HandlePollFds(std::span<const pollfd> fds) override;
  void Send(std::span<const uint8_t> frame) override {
    if (!guard_.Check(frame, &reply_)) {
      if (!reply_.empty() && sink_) sink_(reply_);
      return;
    }
    slirp_input(slirp_, frame.data(), static_cast<int>(frame.size()));
  }
  int mtu() const override { return options_.mtu; }
  std::string Describe() const override {
    return std::string("user (libslirp ") + slirp_version_string() + ")";
  }
  std::vector<int> fds() const override { return fds_; }

 private:
  static ssize_t SendPacket(const void* buf, size_t len, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    if (self->sink_) self->sink_({static_cast<const uint8_t*>(buf), len});
    return static_cast<ssize_t>(len);
  }
  static void GuestError(const char* msg, void*) {
    if (getenv("ARROW_VMM_DEBUG")) fprintf(stderr, "arrow-run: slirp: guest error: %s\n", msg);
  }
  static int64_t ClockNs(void*) { return NowNs(); }
  static void* TimerNewOpaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    self->timers_.push_back(Timer{id, cb_opaque});
    return &self->timers_.back();
  }
  static void TimerFree(void* timer, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    self->timers_.remove_if([timer](const Timer& t) { return &t == timer; });
  }
  static void TimerMod(void* timer, int64_t expire_ms, void*) {
    static_cast<Timer*>(timer)->expire_ms = expire_ms;
  }
  static void RegisterPollFd(int, void*) {}
  static void UnregisterPollFd(int, void*) {}
  static void Notify(void*) {}
  static int AddPoll(int fd, int events, void* opaque);
  static int GetRevents(int idx, void* opaque);

  SlirpOptions options_;
  LoopbackGuard guard_;
  std::vector<uint8_t> reply_;
  Slirp* slirp_ = nullptr;
  SlirpCb cb_{};
  std::list<Timer> timers_;  // stable addresses: slirp keeps pointers to them
  std::vector<pollfd>* fill_ = nullptr;
  size_t fill_base_ = 0;
  std::span<const pollfd> polled_;
  std::vector<int> fds_;  // what slirp_new and the port forwards opened
};

int SlirpBackend::AddPoll(int fd, int events, void* opaque) {
  auto* self = static_cast<SlirpBackend*>(opaque);
  short ev = 0;
  if (events & SLIRP_POLL_IN) ev |= POLLIN;
  if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
  if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
  if (events & SLIRP_POLL_ERR) ev |= POLLERR;
  if (events & SLIRP_POLL_HUP) ev |= POLLHUP;
  self->fill_->push_back(pollfd{fd, ev, 0});
  return static_cast<int>(self->fill_->size() - 1 - self->fill_base_);
}

int SlirpBackend::GetRevents(int idx, void* opaque) {
  auto* self = static_cast<SlirpBackend*>(opaque);
  if (idx < 0 || static_cast<size_t>(idx) >= self->polled_.size()) return 0;
  short re = self->polled_[static_cast<size_t>(idx)].revents;
  int out = 0;
  if (re & POLLIN) out |= SLIRP_POLL_IN;
  if (re & POLLOUT) out |= SLIRP_POLL_OUT;
  if (re & POLLPRI) out |= SLIRP_POLL_PRI;
  if (re & POLLERR) out |= SLIRP_POLL_ERR;
  if (re & POLLHUP) out |= SLIRP_POLL_HUP;
  return out;
}

Status SlirpBackend::Init() {
  const auto before = jail::OpenFds();
  ARROW_TRY(InitSlirp());
  for (int fd : jail::OpenFds())
    if (std::find(before.begin(), before.end(), fd) == before.end()) fds_.push_back(fd);
  return Ok{};
}

Status SlirpBackend::InitSlirp() {
  SlirpConfig c{};
  c.version = 4;
  c.restricted = 0;
  c.in_enabled = true;
  inet_pton(AF_INET, "10.0.2.0", &c.vnetwork);
  inet_pton(AF_INET, "255.255.255.0", &c.vnetmask);
  inet_pton(AF_INET, kGatewayIp, &c.vhost);
  inet_pton(AF_INET, kGuestIp, &c.vdhcp_start);
  inet_pton(AF_INET, kDnsIp, &c.vnameserver);
  // IPv4 only: the guest keeps link-local IPv6; slirp's IPv6 would need its own host-loopback
  // rules and arrow-init configures no IPv6 address.
  c.in6_enabled = false;
  c.vhostname = options_.hostname.empty() ? nullptr : options_.hostname.c_str();
  c.if_mtu = static_cast<size_t>(options_.mtu);
  c.if_mru = static_cast<size_t>(options_.mtu);
  // The gateway maps to the host's loopback; LoopbackGuard decides what may use it (guard.h).
  c.disable_host_loopback = false;
  c.enable_emu = false;
  c.disable_dhcp = true;  // arrow-init configures eth0 statically
  cb_.send_packet = SendPacket;
  cb_.guest_error = GuestError;
  cb_.clock_get_ns = ClockNs;
  cb_.timer_free = TimerFree;
  cb_.timer_mod = TimerMod;
  cb_.register_poll_fd = RegisterPollFd;
  cb_.unregister_poll_fd = UnregisterPollFd;
  cb_.notify = Notify;
  cb_.timer_new_opaque = TimerNewOpaque;
  slirp_ = slirp_new(&c, &cb_, this);
  if (!slirp_) return Err("--net user: libslirp could not create its network stack");
  for (const auto& p : options_.ports) {
    in_addr host{}, guest{};
    inet_pton(AF_INET, p.host_addr.c_str(), &host);
    inet_pton(AF_INET, kGuestIp, &guest);
    errno = 0;
    if (slirp_add_hostfwd(slirp_, p.udp ? 1 : 0, host, p.host_port, guest, p.guest_port) < 0) {
      int e = errno;
      return Err("-p ", p.ToString(), ": cannot listen on ", p.host_addr, ":",
                 std::to_string(p.host_port), "/", p.udp ? "udp" : "tcp", ": ",
                 e == EADDRINUSE ? "the port is already in use"
                 : e != 0       ? std::strerror(e)
                                : "libslirp refused the forward");
    }
  }
  return Ok{};
}

void SlirpBackend::AddPollFds(std::vector<pollfd>& fds, int* timeout_ms, bool) {
  uint32_t t = UINT32_MAX;
  fill_ = &fds;
  fill_base_ = fds.size();
  slirp_pollfds_fill(slirp_, &t, AddPoll, this);
  fill_ = nullptr;
  const int64_t now = NowNs() / 1000000;
  for (const auto& tm : timers_) {
    if (tm.expire_ms < 0) continue;
    int64_t d = tm.expire_ms - now;
    if (d < 0) d = 0;
    if (d < t) t = static_cast<uint32_t>(d);
  }
  if (t != UINT32_MAX && (*timeout_ms < 0 || static_cast<int64_t>(t) < *timeout_ms))
    *timeout_ms = static_cast<int>(t);
}

void SlirpBackend::HandlePollFds(std::span<const pollfd> fds) {
  polled_ = fds;
  slirp_pollfds_poll(slirp_, 0, GetRevents, this);
  polled_ = {};
  const int64_t now = NowNs() / 1000000;
  // A timer callback may free or re-arm timers: collect first, then fire.
  std::vector<std::pair<SlirpTimerId, void*>> due;
  for (auto& tm : timers_)
    if (tm.expire_ms >= 0 && tm.expire_ms <= now) {
      tm.expire_ms = -1;
      due.emplace_back(tm.id, tm.cb_opaque);
    }
  for (auto& [id, op] : due) slirp_handle_timer(slirp_, id, op);
}

}  // namespace

Result<std::unique_ptr<NetBackend>> CreateSlirpBackend(const SlirpOptions& options) {
  auto b = std::make_unique<SlirpBackend>(options);
  ARROW_TRY(b->Init());
  return std::unique_ptr<NetBackend>(std::move(b));
}

}  // namespace arrow::runner::net
