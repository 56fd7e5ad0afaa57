// The host side of arrow-run's network: -p parsing (exact messages), the network plan an image
// and the flags give, the length-prefixed frame stream, passt's command line, and libslirp
// for real: a port in use, and an ARP request answered by the stack's gateway.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "runner/net/guard.h"
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

TEST(Plan, TapTakesNoPorts) {
  NetworkOptions o;
  o.mode = "tap:arrow0";
  o.mode_given = true;
  auto p = PlanNetwork(Image(true), o);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_TRUE(p->enabled);
  o.publish = {"8080:80"};
  EXPECT_EQ(PlanNetwork(Image(true), o).message(),
            "--net tap:arrow0: ports are not published on a tap device (drop -p/-P); reach the "
            "guest at 10.0.2.15");
  o.publish.clear();
  o.mode = "bridge";
  EXPECT_EQ(PlanNetwork(Image(true), o).message(),
            "--net 'bridge': expected user, passt, tap:NAME or none");
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
  const std::string runas = geteuid() == 0 ? "--runas 65534:65534 " : "";
  EXPECT_EQ(joined,
            "passt --foreground --quiet --fd 7 --ipv4-only --address 10.0.2.15 --netmask 24 "
            "--gateway 10.0.2.2 --dns-forward 10.0.2.3 --mtu 1500 --no-dhcp-dns --no-dhcp-search " +
                runas + "--no-map-gw --tcp-ports 8080:80 --udp-ports 127.0.0.1/5353:53 ");
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

// An IPv4 frame from the guest: 10.0.2.15 -> dst, protocol `proto`, L4 header `l4`.
std::vector<uint8_t> Ipv4Frame(const uint8_t dst[4], uint8_t proto, std::vector<uint8_t> l4,
                               uint16_t frag = 0x4000) {
  std::vector<uint8_t> f(14 + 20, 0);
  const uint8_t slirp_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
  std::memcpy(f.data(), slirp_mac, 6);
  std::memcpy(f.data() + 6, kGuestMac, 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  const uint16_t total = static_cast<uint16_t>(20 + l4.size());
  ip[2] = static_cast<uint8_t>(total >> 8), ip[3] = static_cast<uint8_t>(total);
  ip[6] = static_cast<uint8_t>(frag >> 8), ip[7] = static_cast<uint8_t>(frag);
  ip[8] = 64, ip[9] = proto;
  const uint8_t src[4] = {10, 0, 2, 15};
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}
std::vector<uint8_t> Tcp(uint16_t sport, uint16_t dport, uint8_t flags) {
  std::vector<uint8_t> t(20, 0);
  t[0] = static_cast<uint8_t>(sport >> 8), t[1] = static_cast<uint8_t>(sport);
  t[2] = static_cast<uint8_t>(dport >> 8), t[3] = static_cast<uint8_t>(dport);
  t[4] = 0x11, t[5] = 0x22, t[6] = 0x33, t[7] = 0x44;  // seq
  t[12] = 5 << 4;
  t[13] = flags;
  return t;
}
std::vector<uint8_t> Udp(uint16_t sport, uint16_t dport) {
  return {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport),
          static_cast<uint8_t>(dport >> 8), static_cast<uint8_t>(dport), 0, 8, 0, 0};
}

TEST(Guard, HostLoopbackClosedByDefault) {
  const uint8_t gw[4] = {10, 0, 2, 2}, dns[4] = {10, 0, 2, 3}, lo[4] = {127, 0, 0, 1},
                out[4] = {192, 0, 2, 1};
  LoopbackGuard g;
  g.udp_guest_ports = {53};
  std::vector<uint8_t> reply;
  // A new TCP connection to the gateway: dropped, answered with a valid RST|ACK.
  auto syn = Ipv4Frame(gw, 6, Tcp(40000, 5432, 0x02));
  EXPECT_FALSE(g.Check(syn, &reply));
  ASSERT_EQ(reply.size(), 54u);
  EXPECT_EQ(std::memcmp(reply.data(), kGuestMac, 6), 0);
  EXPECT_EQ(InetChecksum({reply.data() + 14, 20}), 0);  // IP header checksum verifies
  EXPECT_EQ(reply[14 + 12], 10);
  EXPECT_EQ(reply[14 + 15], 2);  // from 10.0.2.2
  const uint8_t* t = reply.data() + 34;
  EXPECT_EQ(t[0] << 8 | t[1], 5432);
  EXPECT_EQ(t[2] << 8 | t[3], 40000);
  EXPECT_EQ(t[13], 0x14);
  EXPECT_EQ(t[11], 0x45);  // ack = seq + 1
  uint8_t pseudo[12] = {10, 0, 2, 2, 10, 0, 2, 15, 0, 6, 0, 20};
  EXPECT_EQ(InetChecksum({t, 20}, static_cast<uint16_t>(~InetChecksum(pseudo))), 0);
  // Inside a connection the host opened (published port): passes.
  EXPECT_TRUE(g.Check(Ipv4Frame(gw, 6, Tcp(80, 40000, 0x12)), &reply));
  EXPECT_TRUE(g.Check(Ipv4Frame(gw, 6, Tcp(80, 40000, 0x10)), &reply));
  // UDP: replies from the published port pass, anything else to the gateway is dropped.
  EXPECT_TRUE(g.Check(Ipv4Frame(gw, 17, Udp(53, 40000)), &reply));
  EXPECT_FALSE(g.Check(Ipv4Frame(gw, 17, Udp(40001, 6379)), &reply));
  EXPECT_TRUE(reply.empty());
  // Fragments to the gateway, and anything addressed to 127/8: dropped.
  EXPECT_FALSE(g.Check(Ipv4Frame(gw, 6, Tcp(1, 2, 0x10), 0x2000), &reply));
  EXPECT_FALSE(g.Check(Ipv4Frame(lo, 6, Tcp(1, 2, 0x02)), &reply));
  // DNS and the outside world: pass.
  EXPECT_TRUE(g.Check(Ipv4Frame(dns, 17, Udp(40002, 53)), &reply));
  EXPECT_TRUE(g.Check(Ipv4Frame(out, 6, Tcp(40003, 443, 0x02)), &reply));
  // Truncated headers are dropped, not read past the end.
  auto cut = Ipv4Frame(gw, 6, Tcp(1, 2, 0x02));
  cut.resize(40);
  EXPECT_FALSE(g.Check(cut, &reply));
}

TEST(Guard, AllowedLoopbackStillNeverReaches127Directly) {
  const uint8_t gw[4] = {10, 0, 2, 2}, lo[4] = {127, 0, 0, 1};
  LoopbackGuard g;
  g.allow_host_loopback = true;
  std::vector<uint8_t> reply;
  EXPECT_TRUE(g.Check(Ipv4Frame(gw, 6, Tcp(40000, 5432, 0x02)), &reply));
  EXPECT_TRUE(g.Check(Ipv4Frame(gw, 17, Udp(40001, 6379)), &reply));
  EXPECT_FALSE(g.Check(Ipv4Frame(lo, 6, Tcp(40000, 5432, 0x02)), &reply));
}

}  // namespace
}  // namespace arrow::runner::net
