// TAP device backend; see tap_backend.h.
#include "runner/net/tap_backend.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arrow::runner::net {
namespace {

class TapBackend final : public NetBackend {
 public:
  TapBackend(int fd, std::string name, int mtu) : fd_(fd), name_(std::move(name)), mtu_(mtu) {}
  ~TapBackend() override { close(fd_); }
  void AddPollFds(std::vector<pollfd>& fds, int*, bool can_receive) override {
    fds.push_back({fd_, static_cast<short>(can_receive ? POLLIN : 0), 0});
  }
  void HandlePollFds(std::span<const pollfd> fds) override {
    if (fds.empty() || !(fds[0].revents & POLLIN)) return;
    uint8_t buf[65536];
    for (int i = 0; i < 64; i++) {  // one frame per read; bounded per round
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      if (sink_) sink_({buf, static_cast<size_t>(n)});
    }
  }
  void Send(std::span<const uint8_t> frame) override {
    (void)!write(fd_, frame.data(), frame.size());  // a full tap queue drops, like a wire
  }
  int mtu() const override { return mtu_; }
  std::string Describe() const override { return "tap " + name_; }

  std::vector<int> fds() const override { return {fd_}; }

 private:
  int fd_;
  std::string name_;
  int mtu_;
};

}  // namespace

Result<std::unique_ptr<NetBackend>> CreateTapBackend(const std::string& name, int mtu) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos)
    return Err("--net tap:", name, ": a device name of 1 to ", std::to_string(IFNAMSIZ - 1),
               " characters is expected");
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return Err("--net tap:", name, ": cannot open /dev/net/tun: ", std::strerror(errno),
               errno == ENOENT ? " (load the tun module: modprobe tun)" : "");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  // SAFETY: points at an ifreq on our stack; TUNSETIFF attaches fd to (or creates) the device.
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return Err("--net tap:", name, ": cannot attach to the tap device: ", std::strerror(e),
               e == EPERM ? " (run as root, or create it for your user first: ip tuntap add " +
                                name + " mode tap user $USER)"
               : e == EBUSY ? " (another program is attached to it)"
                            : "");
  }
  return std::unique_ptr<NetBackend>(new TapBackend(fd, name, mtu));
}

}  // namespace arrow::runner::net
