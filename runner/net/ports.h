// Published ports: docker's `-p` syntax, parsed and checked before anything boots.
//
//   -p 8080:80            host 0.0.0.0:8080 -> guest 80/tcp
//   -p 127.0.0.1:8080:80  host 127.0.0.1:8080 only
//   -p 5353:53/udp        UDP
//   -p 80                 guest 80 on a free host port (chosen at start, printed)
// Ports are 1..65535 (host 0 = choose); the address is a dotted IPv4 address.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace arrow::runner::net {

struct PortMapping {
  std::string host_addr = "0.0.0.0";
  uint16_t host_port = 0;  // 0: a free port, chosen by ResolveFreePorts
  uint16_t guest_port = 0;
  bool udp = false;

  // "0.0.0.0:8080->80/tcp", as docker ps shows it.
  std::string ToString() const;
};

Result<PortMapping> ParsePortMapping(std::string_view spec);

// A recipe's declared port: 80, "80", "53/udp", "8080/tcp".
struct DeclaredPort {
  uint16_t port = 0;
  bool udp = false;
};
Result<DeclaredPort> ParseDeclaredPort(std::string_view spec);

// Gives every mapping with host port 0 a free port of its protocol on its address (the kernel
// picks it; the socket is closed again, so a rare race with another program remains). Errors
// name the mapping.
Status ResolveFreePorts(std::vector<PortMapping>& mappings);

// Rejects two mappings of one host address:port and protocol (docker does too).
Status CheckDistinct(const std::vector<PortMapping>& mappings);

}  // namespace arrow::runner::net
