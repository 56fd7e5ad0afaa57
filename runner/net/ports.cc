// Parsing of -p specs and recipe port declarations; see ports.h.
#include "runner/net/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace arrow::runner::net {
namespace {

// "80" -> 80; `allow_zero` for host ports ("0" = choose one).
bool ParsePort(std::string_view s, bool allow_zero, uint16_t* out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v > 65535) return false;
  if (v == 0 && !allow_zero) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

// Splits off a trailing "/tcp" or "/udp".
Result<bool> SplitProto(std::string_view& s, std::string_view whole) {
  size_t slash = s.rfind('/');
  if (slash == std::string_view::npos) return false;
  std::string_view proto = s.substr(slash + 1);
  s = s.substr(0, slash);
  if (proto == "tcp") return false;
  if (proto == "udp") return true;
  return Err("'", std::string(whole), "': unknown protocol '", std::string(proto),
             "' (expected tcp or udp)");
}

}  // namespace

std::string PortMapping::ToString() const {
  return host_addr + ":" + std::to_string(host_port) + "->" + std::to_string(guest_port) +
         (udp ? "/udp" : "/tcp");
}

Result<PortMapping> ParsePortMapping(std::string_view spec) {
  const std::string whole(spec);
  auto bad = [&](const std::string& why) {
    return Err("-p '", whole, "': ", why,
               " (expected [HOST_ADDR:][HOST_PORT:]GUEST_PORT[/tcp|/udp], e.g. 8080:80)");
  };
  std::string_view s = spec;
  auto udp = SplitProto(s, spec);
  if (!udp) return Err("-p ", udp.message());
  PortMapping m;
  m.udp = *udp;
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t colon = s.find(':', start);
    parts.push_back(s.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() > 3) return bad("too many ':'");
  if (!ParsePort(parts.back(), false, &m.guest_port))
    return bad("guest port '" + std::string(parts.back()) + "' is not a number in 1..65535");
  if (parts.size() >= 2) {
    std::string_view hp = parts[parts.size() - 2];
    if (!hp.empty() && !ParsePort(hp, true, &m.host_port))
      return bad("host port '" + std::string(hp) + "' is not a number in 0..65535");
  }
  if (parts.size() == 3) {
    in_addr a{};
    std::string addr(parts[0]);
    if (inet_pton(AF_INET, addr.c_str(), &a) != 1)
      return bad("host address '" + addr + "' is not an IPv4 address");
    m.host_addr = addr;
  }
  return m;
}

Result<DeclaredPort> ParseDeclaredPort(std::string_view spec) {
  std::string_view s = spec;
  auto udp = SplitProto(s, spec);
  if (!udp) return udp.error();
  DeclaredPort d;
  d.udp = *udp;
  if (!ParsePort(s, false, &d.port))
    return Err("'", std::string(spec), "': expected a port number in 1..65535, optionally with /tcp or /udp");
  return d;
}

Status ResolveFreePorts(std::vector<PortMapping>& mappings) {
  for (auto& m : mappings) {
    if (m.host_port != 0) continue;
    int fd = socket(AF_INET, (m.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) return Err("-p ", m.ToString(), ": socket: ", std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, m.host_addr.c_str(), &a.sin_addr);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      int e = errno;
      close(fd);
      return Err("-p ", m.host_addr, "::", std::to_string(m.guest_port),
                 ": cannot find a free host port: ", std::strerror(e));
    }
    close(fd);
    m.host_port = ntohs(a.sin_port);
  }
  return Ok{};
}

Status CheckDistinct(const std::vector<PortMapping>& mappings) {
  for (size_t i = 0; i < mappings.size(); i++)
    for (size_t j = 0; j < i; j++) {
      const auto &a = mappings[i], &b = mappings[j];
      if (a.udp != b.udp || a.host_port != b.host_port || a.host_port == 0) continue;
      if (a.host_addr == b.host_addr || a.host_addr == "0.0.0.0" || b.host_addr == "0.0.0.0")
        return Err("-p ", a.ToString(), " and -p ", b.ToString(), " publish the same host port");
    }
  return Ok{};
}

}  // namespace arrow::runner::net
