// Network planning and backend creation; see network.h.
#include "runner/net/network.h"

#include <cstdio>

#include "runner/net/passt_backend.h"
#include "runner/net/slirp_backend.h"
#include "runner/net/tap_backend.h"

namespace arrow::runner::net {

std::string NetworkPlan::GuestCmdline() const {
  std::string s;
  if (enabled)
    s += std::string("arrow.ip=") + kGuestIp + "/" + std::to_string(kGuestPrefix) +
         " arrow.gw=" + kGatewayIp + " arrow.dns=" + kDnsIp;
  if (!hostname.empty()) s += (s.empty() ? "" : " ") + std::string("arrow.hostname=") + hostname;
  return s;
}

Result<NetworkPlan> PlanNetwork(const nlohmann::json& config, const NetworkOptions& o) {
  NetworkPlan plan;
  plan.mode = o.mode;
  plan.allow_host_loopback = o.allow_host_loopback;
  plan.hostname = config.value("name", std::string());
  const bool tap = o.mode.rfind("tap:", 0) == 0;
  if (o.mode != "user" && o.mode != "passt" && o.mode != "none" && !tap)
    return Err("--net '", o.mode, "': expected user, passt, tap:NAME or none");
  if (tap && (!o.publish.empty() || o.publish_all))
    return Err("--net ", o.mode, ": ports are not published on a tap device (drop -p/-P); "
               "reach the guest at ", kGuestIp);
  const bool asked = !o.publish.empty() || o.publish_all || o.allow_host_loopback ||
                     (o.mode_given && o.mode != "none");
  if (o.mode == "none") {
    if (!o.publish.empty() || o.publish_all)
      return Err("--net none has no network to publish ports on (drop -p/-P or --net none)");
    return plan;
  }
  const auto vn = config.value("/kernel/virtio_net"_json_pointer, nlohmann::json());
  if (vn.is_boolean() && !vn.get<bool>()) {
    if (asked)
      return Err("this arrow's kernel has no network driver, so it cannot have a NIC: rebuild it "
                 "with [app] ports = [...] or [kernel] features = [\"net\"]");
    return plan;
  }
  if (!vn.is_boolean() && !asked) return plan;  // prebuilt kernel: only when asked
  plan.enabled = true;
  for (const auto& spec : o.publish) {
    auto m = ParsePortMapping(spec);
    if (!m) return m.error();
    plan.ports.push_back(*m);
  }
  if (o.publish_all) {
    auto declared = config.value("ports", nlohmann::json::array());
    if (declared.empty() && !o.quiet)
      fprintf(stderr, "arrow-run: -P: this arrow declares no ports ([app] ports)\n");
    for (const auto& d : declared) {
      if (!d.is_string()) continue;
      auto p = ParseDeclaredPort(d.get<std::string>());
      if (!p) return Err("the image config's ports: ", p.message());
      PortMapping m;
      m.guest_port = p->port;
      m.udp = p->udp;
      plan.ports.push_back(m);
    }
  }
  std::vector<bool> chosen;
  for (const auto& m : plan.ports) chosen.push_back(m.host_port == 0);
  ARROW_TRY(CheckDistinct(plan.ports));
  ARROW_TRY(ResolveFreePorts(plan.ports));
  ARROW_TRY(CheckDistinct(plan.ports));
  for (size_t i = 0; i < plan.ports.size(); i++)
    if (chosen[i] && !o.quiet)
      fprintf(stderr, "arrow-run: publishing %s\n", plan.ports[i].ToString().c_str());
  return plan;
}

Result<std::shared_ptr<NetBackend>> CreateBackend(const NetworkPlan& plan) {
  if (plan.mode.rfind("tap:", 0) == 0) {
    auto b = CreateTapBackend(plan.mode.substr(4), plan.mtu);
    if (!b) return b.error();
    return std::shared_ptr<NetBackend>(std::move(*b));
  }
  if (plan.mode == "passt") {
    PasstOptions po;
    po.ports = plan.ports;
    po.allow_host_loopback = plan.allow_host_loopback;
    po.mtu = plan.mtu;
    auto b = CreatePasstBackend(po);
    if (!b) return b.error();
    return std::shared_ptr<NetBackend>(std::move(*b));
  }
  SlirpOptions so;
  so.ports = plan.ports;
  so.allow_host_loopback = plan.allow_host_loopback;
  so.hostname = plan.hostname;
  so.mtu = plan.mtu;
  auto b = CreateSlirpBackend(so);
  if (!b) return b.error();
  return std::shared_ptr<NetBackend>(std::move(*b));
}

}  // namespace arrow::runner::net
