// The host side of arrow-run's network: -p parsing (exact messages), the network plan an image
// and the flags give, the length-prefixed frame stream, passt's command line, and libslirp
// for real: a port in use, and an ARP request answered by the stack's gateway.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "runner/net/network.h"
#include "runner/net/passt_backend.h"
#include "runner/net/ports.h"
#include "runner/net/slirp_backend.h"
#include "runner/net/stream.h"

namespace arrow::runner::net {
namespace {

TEST(Ports, DockerSyntax) {
  auto m = ParsePortMapping("8080:80");
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->ToString(), "0.0.0.0:8080->80/tcp");
  m = ParsePortMapping("127.0.0.1:8080:80");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ToString(), "127.0.0.1:8080->80/tcp");
  m = ParsePortMapping("5353:53/udp");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ToString(), "0.0.0.0:5353->53/udp");
  m = ParsePortMapping("80");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->host_port, 0);
  m = ParsePortMapping("127.0.0.1::80");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->host_port, 0);
  EXPECT_EQ(m->host_addr, "127.0.0.1");
}

TEST(Ports, ErrorsNameTheSpec) {
  const char* tail = " (expected [HOST_ADDR:][HOST_PORT:]GUEST_PORT[/tcp|/udp], e.g. 8080:80)";
  EXPECT_EQ(ParsePortMapping("8080:http").message(),
            std::string("-p '8080:http': guest port 'http' is not a number in 1..65535") + tail);
  EXPECT_EQ(ParsePortMapping("70000:80").message(),
            std::string("-p '70000:80': host port '70000' is not a number in 0..65535") + tail);
  EXPECT_EQ(ParsePortMapping("localhost:1:2").message(),
            std::string("-p 'localhost:1:2': host address 'localhost' is not an IPv4 address") + tail);
  EXPECT_EQ(ParsePortMapping("1:2:3:4").message(),
            std::string("-p '1:2:3:4': too many ':'") + tail);
  EXPECT_EQ(ParsePortMapping("80/sctp").message(),
            "-p '80/sctp': unknown protocol 'sctp' (expected tcp or udp)");
  EXPECT_EQ(ParsePortMapping("8080:0").message(),
            std::string("-p '8080:0': guest port '0' is not a number in 1..65535") + tail);
}

TEST(Ports, FreePortsAndClashes) {
  std::vector<PortMapping> v = {*ParsePortMapping("127.0.0.1::80"), *ParsePortMapping("127.0.0.1::53/udp")};
  ASSERT_TRUE(ResolveFreePorts(v).ok());
  EXPECT_NE(v[0].host_port, 0);
  EXPECT_NE(v[1].host_port, 0);
  std::vector<PortMapping> clash = {*ParsePortMapping("8080:80"), *ParsePortMapping("127.0.0.1:8080:81")};
  EXPECT_EQ(CheckDistinct(clash).message(),
            "-p 127.0.0.1:8080->81/tcp and -p 0.0.0.0:8080->80/tcp publish the same host port");
  std::vector<PortMapping> ok = {*ParsePortMapping("8080:80"), *ParsePortMapping("8080:80/udp")};
  EXPECT_TRUE(CheckDistinct(ok).ok());
}

nlohmann::json Image(nlohmann::json virtio_net) {
  return {{"name", "web"}, {"ports", {"80/tcp", "53/udp"}}, {"kernel", {{"virtio_net", virtio_net}}}};
}

TEST(Plan, DefaultsFollowTheKernel) {
  NetworkOptions o;
  auto p = PlanNetwork(Image(true), o);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_TRUE(p->enabled);
  EXPECT_EQ(p->GuestCmdline(),
            "arrow.ip=10.0.2.15/24 arrow.gw=10.0.2.2 arrow.dns=10.0.2.3 arrow.hostname=web");
  p = PlanNetwork(Image(false), o);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->enabled);
  EXPECT_EQ(p->GuestCmdline(), "arrow.hostname=web");
  p = PlanNetwork(Image(nullptr), o);  // prebuilt kernel: no NIC unless asked
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->enabled);
  o.publish = {"127.0.0.1::80"};
  p = PlanNetwork(Image(nullptr), o);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->enabled);
}

TEST(Plan, ClearErrors) {
  NetworkOptions o;
  o.publish = {"8080:80"};
  EXPECT_EQ(PlanNetwork(Image(false), o).message(),
            "this arrow's kernel has no network driver, so it cannot have a NIC: rebuild it with "
            "[app] ports = [...] or [kernel] features = [\"net\"]");
  o.mode = "none";
  EXPECT_EQ(PlanNetwork(Image(true), o).message(),
            "--net none has no network to publish ports on (drop -p/-P or --net none)");
  o.publish.clear();
  auto p = PlanNetwork(Image(true), o);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->enabled);
  EXPECT_EQ(p->GuestCmdline(), "arrow.hostname=web");
}

TEST(Plan, PublishAllUsesTheDeclaredPorts) {
  NetworkOptions o;
  o.publish_all = true;
  o.quiet = true;
  auto p = PlanNetwork(Image(true), o);
  ASSERT_TRUE(p.ok()) << p.message();
  ASSERT_EQ(p->ports.size(), 2u);
  EXPECT_EQ(p->ports[0].guest_port, 80);
  EXPECT_FALSE(p->ports[0].udp);
  EXPECT_EQ(p->ports[1].guest_port, 53);
  EXPECT_TRUE(p->ports[1].udp);
  EXPECT_NE(p->ports[0].host_port, 0);
}

TEST(Stream, FramesAcrossReads) {
  FrameWriter w;
  const uint8_t a[] = {1, 2, 3}, b[] = {9};
  ASSERT_TRUE(w.Queue(a));
  ASSERT_TRUE(w.Queue(b));
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_TRUE(w.Flush(sv[0]).ok());
  EXPECT_TRUE(w.empty());
  uint8_t buf[64];
  ssize_t n = read(sv[1], buf, sizeof buf);
  ASSERT_EQ(n, 12);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + 4), (std::vector<uint8_t>{0, 0, 0, 3}));
  FrameReader r;
  std::vector<std::vector<uint8_t>> got;
  auto sink = [&](std::span<const uint8_t> f) { got.emplace_back(f.begin(), f.end()); };
  for (ssize_t i = 0; i < n; i++) ASSERT_TRUE(r.Feed({buf + i, 1}, sink).ok());  // byte by byte
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(got[1], (std::vector<uint8_t>{9}));
  close(sv[0]);
  close(sv[1]);
}

TEST(Stream, HostileLengthsAndFullQueue) {
  FrameReader r;
  auto sink = [](std::span<const uint8_t>) { FAIL() << "no frame expected"; };
  const uint8_t zero[] = {0, 0, 0, 0};
  EXPECT_EQ(r.Feed(zero, sink).message(), "frame stream: a frame of 0 bytes (allowed: 1..65550)");
  FrameReader r2;
  const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
  EXPECT_EQ(r2.Feed(huge, sink).message(),
            "frame stream: a frame of 2147483647 bytes (allowed: 1..65550)");
  FrameWriter w(100);
  std::vector<uint8_t> f(60, 1);
  EXPECT_TRUE(w.Queue(f));
  EXPECT_FALSE(w.Queue(f));  // would exceed 100 bytes queued: dropped
}

TEST(Passt, CommandLine) {
  PasstOptions o;
  o.ports = {*ParsePortMapping("8080:80"), *ParsePortMapping("127.0.0.1:5353:53/udp")};
  auto a = PasstArgs(o, 7);
  std::string joined;
  for (const auto& s : a) joined += s + " ";
  EXPECT_EQ(joined,
            "passt --foreground --quiet --fd 7 --ipv4-only --address 10.0.2.15 --netmask 24 "
            "--gateway 10.0.2.2 --dns-forward 10.0.2.3 --mtu 1500 --no-dhcp-dns --no-dhcp-search "
            "--no-map-gw --tcp-ports 8080:80 --udp-ports 127.0.0.1/5353:53 ");
  o.allow_host_loopback = true;
  o.ports.clear();
  a = PasstArgs(o, 7);
  EXPECT_EQ(std::count(a.begin(), a.end(), "--no-map-gw"), 0);
  EXPECT_EQ(a.back(), "none");
}

TEST(Slirp, PortInUseIsAnErrorBeforeBoot) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 1), 0);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  SlirpOptions o;
  o.ports = {*ParsePortMapping("127.0.0.1:" + std::to_string(port) + ":80")};
  auto b = CreateSlirpBackend(o);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message(), "-p 127.0.0.1:" + std::to_string(port) + "->80/tcp: cannot listen on 127.0.0.1:" +
                             std::to_string(port) + "/tcp: the port is already in use");
  close(s);
  EXPECT_TRUE(CreateSlirpBackend(o).ok());  // free again
}

TEST(Slirp, GatewayAnswersArp) {
  auto b = CreateSlirpBackend(SlirpOptions{});
  ASSERT_TRUE(b.ok()) << b.message();
  std::vector<std::vector<uint8_t>> out;
  (*b)->set_sink([&](std::span<const uint8_t> f) { out.emplace_back(f.begin(), f.end()); });
  // ARP who-has 10.0.2.2 tell 10.0.2.15, from the guest's MAC.
  std::vector<uint8_t> f(42, 0);
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, kGuestMac, 6);
  f[12] = 0x08, f[13] = 0x06;                  // ARP
  f[14] = 0, f[15] = 1, f[16] = 8, f[17] = 0;  // Ethernet, IPv4
  f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;  // request
  std::memcpy(f.data() + 22, kGuestMac, 6);
  const uint8_t guest_ip[] = {10, 0, 2, 15}, gw[] = {10, 0, 2, 2};
  std::memcpy(f.data() + 28, guest_ip, 4);
  std::memcpy(f.data() + 38, gw, 4);
  (*b)->Send(f);
  ASSERT_FALSE(out.empty());
  const auto& r = out.back();
  ASSERT_GE(r.size(), 42u);
  EXPECT_EQ(r[12], 0x08);
  EXPECT_EQ(r[13], 0x06);
  EXPECT_EQ(r[21], 2);  // ARP reply
  EXPECT_EQ(std::memcmp(r.data() + 28, gw, 4), 0);
  EXPECT_EQ(std::memcmp(r.data(), kGuestMac, 6), 0);
}

}  // namespace
}  // namespace arrow::runner::net
