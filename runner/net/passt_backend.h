// `--net passt`: Debian's passt as a child process on a socketpair, frames length-prefixed
// ("qemu" mode, -F FD). passt translates the guest's flows to host sockets like libslirp but
// out of process, so a bug in the TCP/IP translation is not a bug in the VMM. It is told the
// guest's fixed addresses (-a/-n/-g, DNS forwarded from 10.0.2.3) and, unless the host's
// loopback is allowed, --no-map-gw keeps the guest off it. Published ports are checked free
// before passt starts, so a busy port is an error here rather than a log line of passt's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "runner/net/backend.h"
#include "runner/net/ports.h"

namespace arrow::runner::net {

struct PasstOptions {
  std::vector<PortMapping> ports;
  bool allow_host_loopback = false;
  int mtu = 1500;
  std::string binary = "passt";
};

Result<std::unique_ptr<NetBackend>> CreatePasstBackend(const PasstOptions& options);

// The passt command line for `options` with the guest's socket as fd `fd` (tests).
std::vector<std::string> PasstArgs(const PasstOptions& options, int fd);

}  // namespace arrow::runner::net
