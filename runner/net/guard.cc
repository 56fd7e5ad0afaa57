// Guest-frame filter; see guard.h. Every offset is checked against the frame's length.
#include "runner/net/guard.h"

#include <algorithm>
#include <cstring>

namespace arrow::runner::net {
namespace {

constexpr size_t kEth = 14;
constexpr uint32_t kGateway = (10u << 24) | (2u << 8) | 2u;  // 10.0.2.2, host order

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}

// A RST|ACK answering the SYN in `f` (IPv4 header of `ihl` bytes, TCP header after it).
std::vector<uint8_t> ResetFor(std::span<const uint8_t> f, size_t ihl) {
  const uint8_t* ip = f.data() + kEth;
  const uint8_t* tcp = ip + ihl;
  const uint16_t total = Be16(ip + 2);
  const size_t tcp_hdr = static_cast<size_t>(tcp[12] >> 4) * 4;
  const uint32_t payload = total >= ihl + tcp_hdr ? total - ihl - tcp_hdr : 0;
  std::vector<uint8_t> r(kEth + 40, 0);
  std::memcpy(r.data(), f.data() + 6, 6);  // to the sender's MAC
  std::memcpy(r.data() + 6, f.data(), 6);  // from the MAC it addressed
  r[12] = 0x08;
  uint8_t* rip = r.data() + kEth;
  rip[0] = 0x45;
  Put16(rip + 2, 40);
  Put16(rip + 6, 0x4000);  // DF
  rip[8] = 64;
  rip[9] = 6;
  std::memcpy(rip + 12, ip + 16, 4);  // from the address the guest called
  std::memcpy(rip + 16, ip + 12, 4);
  Put16(rip + 10, InetChecksum({rip, 20}));
  uint8_t* rt = rip + 20;
  std::memcpy(rt, tcp + 2, 2);
  std::memcpy(rt + 2, tcp, 2);
  Put32(rt + 8, Be32(tcp + 4) + 1 + payload);  // ack the SYN
  rt[12] = 5 << 4;
  rt[13] = 0x14;  // RST|ACK
  uint8_t pseudo[12];
  std::memcpy(pseudo, rip + 12, 8);
  pseudo[8] = 0;
  pseudo[9] = 6;
  Put16(pseudo + 10, 20);
  uint32_t sum = static_cast<uint16_t>(~InetChecksum(pseudo));
  Put16(rt + 16, InetChecksum({rt, 20}, sum));
  return r;
}

}  // namespace

uint16_t InetChecksum(std::span<const uint8_t> d, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < d.size(); i += 2) sum += Be16(d.data() + i);
  if (i < d.size()) sum += uint32_t{d[i]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

bool LoopbackGuard::Check(std::span<const uint8_t> f, std::vector<uint8_t>* reply) const {
  reply->clear();
  if (f.size() < kEth + 20 || Be16(f.data() + 12) != 0x0800) return true;  // not IPv4
  const uint8_t* ip = f.data() + kEth;
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || f.size() < kEth + ihl) return false;  // malformed
  const uint32_t dst = Be32(ip + 16);
  if ((dst >> 24) == 127 || (dst >> 24) == 0) return false;
  if (dst != kGateway || allow_host_loopback) return true;
  const bool fragment = (Be16(ip + 6) & 0x3fff) != 0;  // MF or an offset
  if (fragment) return false;
  const uint8_t proto = ip[9];
  const uint8_t* l4 = ip + ihl;
  const size_t l4_len = f.size() - kEth - ihl;
  if (proto == 6) {
    if (l4_len < 20) return false;
    const uint8_t flags = l4[13];
    if ((flags & 0x02) && !(flags & 0x10)) {  // a new connection to the host
      *reply = ResetFor(f, ihl);
      return false;
    }
    return true;
  }
  if (proto == 17) {
    if (l4_len < 8) return false;
    const uint16_t sport = Be16(l4);
    return std::find(udp_guest_ports.begin(), udp_guest_ports.end(), sport) !=
           udp_guest_ports.end();
  }
  return true;
}

}  // namespace arrow::runner::net
