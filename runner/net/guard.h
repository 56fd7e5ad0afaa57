// What a guest frame may reach on the host, checked before libslirp sees it.
//
// libslirp's own disable_host_loopback also drops the replies of a published UDP port to a
// client on the host's loopback (every reply datagram is translated like a new flow), so
// `-p 5353:53/udp` would be useless from 127.0.0.1. Arrow therefore lets slirp map the gateway
// 10.0.2.2 to the host's loopback and enforces isolation here instead:
//   - never: IPv4 packets addressed to 127.0.0.0/8 or 0.0.0.0/8 (a crafted frame must not
//     reach host loopback services directly);
//   - unless the host's loopback is allowed, to 10.0.2.2: new TCP connections (SYN without ACK;
//     answered with a RST so the guest's connect() fails at once), UDP except replies from a
//     published UDP port, and fragments (their headers cannot be checked).
// Everything else passes: ARP, ICMP, DNS at 10.0.2.3, the outside world, and replies within
// TCP connections the host opened through a published port.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace arrow::runner::net {

struct LoopbackGuard {
  bool allow_host_loopback = false;
  std::vector<uint16_t> udp_guest_ports;  // published UDP ports: their replies may pass

  // True: hand the frame to the stack. False: drop it; `reply`, when non-empty, is a frame
  // for the guest (a TCP reset).
  bool Check(std::span<const uint8_t> frame, std::vector<uint8_t>* reply) const;
};

// The Internet checksum of `data` folded into `sum` (RFC 1071).
uint16_t InetChecksum(std::span<const uint8_t> data, uint32_t sum = 0);

}  // namespace arrow::runner::net
