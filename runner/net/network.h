// arrow-run's network: from the image config and the flags (-p, -P, --net,
// --allow-host-loopback) to a plan, and from the plan to a running backend.
//
// Default (`--net user`): a NIC on Arrow's in-process libslirp stack. An arrow whose tuned kernel
// has no virtio-net driver gets no NIC, and asking for one (-p, -P, --net) is an error that
// says how to rebuild; a prebuilt kernel gets a NIC only when asked. `--net none`: no NIC.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "runner/net/backend.h"
#include "runner/net/ports.h"

namespace arrow::runner::net {

struct NetworkOptions {
  std::string mode = "user";         // user | passt | tap:NAME | none
  bool mode_given = false;           // --net was on the command line
  std::vector<std::string> publish;  // -p specs
  bool publish_all = false;          // -P: every port the image declares, on free host ports
  bool allow_host_loopback = false;  // the guest may reach the host's 127.0.0.1 via 10.0.2.2
  bool quiet = false;
};

struct NetworkPlan {
  bool enabled = false;
  std::string mode;
  std::vector<PortMapping> ports;  // resolved: no host port 0
  bool allow_host_loopback = false;
  std::string hostname;
  int mtu = 1500;
  // Kernel command-line parameters for arrow-init (address, gateway, DNS, hostname).
  std::string GuestCmdline() const;
};

// Checks and resolves everything that can fail before boot; errors are one line each.
Result<NetworkPlan> PlanNetwork(const nlohmann::json& config, const NetworkOptions& options);

// A backend for the plan, its port forwards listening (the built-in VMM's NIC or the frame
// pump of the qemu backend).
Result<std::shared_ptr<NetBackend>> CreateBackend(const NetworkPlan& plan);

}  // namespace arrow::runner::net
