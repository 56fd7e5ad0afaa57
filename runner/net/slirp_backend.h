// The default backend, `--net user`: libslirp, a user-mode TCP/IP stack, in-process. Rootless
// and with no host set-up: the guest's TCP and UDP flows become ordinary sockets of this
// process, published ports are listening sockets (slirp_add_hostfwd), and the guest cannot
// reach the host's loopback (10.0.2.2 -> 127.0.0.1) unless `allow_host_loopback` (enforced by
// LoopbackGuard on every guest frame, see guard.h).
// libslirp has no locking: after Create(), only the driving thread may touch it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "runner/net/backend.h"
#include "runner/net/ports.h"

namespace arrow::runner::net {

struct SlirpOptions {
  std::vector<PortMapping> ports;  // host ports already resolved (no 0)
  bool allow_host_loopback = false;
  std::string hostname;            // for slirp's own use (DHCP is off)
  int mtu = 1500;
};

// Sets up the stack and every port forward; an error names the mapping that failed (for
// example a host port already in use) so nothing boots half-connected.
Result<std::unique_ptr<NetBackend>> CreateSlirpBackend(const SlirpOptions& options);

}  // namespace arrow::runner::net
