// `--net tap:NAME`: the guest's frames on a host TAP device, for hosts with a bridge or their
// own routing. Needs the privilege to attach (root, CAP_NET_ADMIN, or a persistent tap created
// for the user with `ip tuntap add NAME mode tap user USER`); the error says so. The guest keeps
// its fixed address 10.0.2.15/24 with gateway 10.0.2.2, so the host side of the tap (or the
// bridge it is on) should hold 10.0.2.2/24. Ports are not published: the guest is reached at
// its own address.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "runner/net/backend.h"

namespace arrow::runner::net {

Result<std::unique_ptr<NetBackend>> CreateTapBackend(const std::string& name, int mtu);

}  // namespace arrow::runner::net
