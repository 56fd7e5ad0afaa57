// Which fragments a tuned kernel gets (TunedKernelFeatures), and the shipped fragments' IPv4
// split: the base has none, `inet` and `net` have it, and `net` kernels keep their requested
// options (so their cache keys) whatever `inet` adds to the base.
#include "builder/kernel_choice.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "builder/kernel_config.h"

namespace arrow::builder {
namespace {

namespace fs = std::filesystem;
using Added = std::vector<std::pair<std::string, std::string>>;

// A stand-in for the fragments' own answer: only `net` (or a fragment named "own-inet") has IPv4.
bool NetHasIpv4(const std::vector<std::string>& features) {
  for (const auto& f : features)
    if (f == "net" || f == "own-inet") return true;
  return false;
}

std::vector<std::string> Features(const Recipe& r, const KernelChoiceOptions& o, Added* added) {
  return TunedKernelFeatures(r, o, NetHasIpv4, added);
}

TEST(TunedKernelFeatures, InetOnlyForProgramsThatOpenSockets) {
  Recipe r;
  KernelChoiceOptions o;
  Added added;
  EXPECT_EQ(Features(r, o, &added), std::vector<std::string>{});
  EXPECT_TRUE(added.empty());

  o.ipv4_user = "/usr/bin/python3.11 imports socket";
  EXPECT_EQ(Features(r, o, &added), std::vector<std::string>{"inet"});
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0], (std::pair<std::string, std::string>{"inet", "/usr/bin/python3.11 imports socket"}));

  // Ports bring `net`, which has IPv4: no `inet` beside it.
  added.clear();
  r.app.ports = {"8080"};
  EXPECT_EQ(Features(r, o, &added), std::vector<std::string>{"net"});
  EXPECT_EQ(added, (Added{{"net", "the recipe publishes ports"}}));

  // A recipe fragment with IPv4 of its own, or `inet` named by the recipe, is not doubled.
  for (const char* own : {"own-inet", "inet"}) {
    added.clear();
    Recipe mine;
    mine.kernel.features = {own};
    EXPECT_EQ(Features(mine, o, &added), std::vector<std::string>{own});
    EXPECT_TRUE(added.empty()) << own;
  }
}

TEST(TunedKernelFeatures, OrderAndReasons) {
  Recipe r;
  r.kernel.features = {"db"};
  r.app.volumes = {"/data"};
  KernelChoiceOptions o;
  o.ipv4_user = "/usr/bin/x is statically linked";
  o.needs_block = true;
  o.trace = true;
  Added added;
  EXPECT_EQ(Features(r, o, &added), (std::vector<std::string>{"db", "inet", "block", "trace"}));
  EXPECT_EQ(added, (Added{{"inet", "/usr/bin/x is statically linked"},
                          {"block", "the recipe declares volumes"},
                          {"trace", "a trace image watches file accesses with fanotify"}}));
  added.clear();
  r.app.volumes.clear();
  o.ipv4_user.clear();
  EXPECT_EQ(Features(r, o, &added), (std::vector<std::string>{"db", "block", "trace"}));
  EXPECT_EQ(added[0], (std::pair<std::string, std::string>{"block", "the root is an EROFS layer"}));
}

// The shipped fragments, merged the way a build merges them.
KernelConfig Merged(const std::vector<std::string>& names) {
  const char* src = std::getenv("ARROW_SOURCE_DIR");
  const fs::path dir = fs::path(src ? src : ".") / "kernel-configs";
  KernelConfig merged;
  for (const auto& n : names) {
    auto cfg = LoadKernelConfig(dir / (n + ".config"));
    EXPECT_TRUE(cfg.ok()) << n << ": " << cfg.message();
    if (cfg.ok()) merged.Merge(*cfg);
  }
  return merged;
}

TEST(ShippedFragments, Ipv4IsInetOrNet) {
  EXPECT_EQ(Merged({"microvm"}).ValueOf("CONFIG_INET"), "n");
  const KernelConfig inet = Merged({"microvm", "inet"});
  EXPECT_EQ(inet.ValueOf("CONFIG_INET"), "y");
  EXPECT_EQ(inet.ValueOf("CONFIG_TCP_CONG_ADVANCED"), "y");
  EXPECT_EQ(inet.ValueOf("CONFIG_DEFAULT_RENO"), "y");
  EXPECT_EQ(inet.ValueOf("CONFIG_TCP_CONG_CUBIC"), "n");
  const KernelConfig net = Merged({"microvm", "net"});
  EXPECT_EQ(net.ValueOf("CONFIG_INET"), "y");
  EXPECT_EQ(net.ValueOf("CONFIG_DEFAULT_CUBIC"), "y");
  EXPECT_EQ(net.ValueOf("CONFIG_DEFAULT_RENO"), "n");
  // What a `net` kernel requests, in order, is what it requested when the base still had IPv4:
  // the networking options sit where they always were, so cache keys and kernel registries
  // keep serving those kernels.
  const std::string text = net.Text();
  const std::string before =
      "CONFIG_NET=y\nCONFIG_UNIX=y\nCONFIG_INET=y\nCONFIG_TCP_CONG_ADVANCED=y\n"
      "CONFIG_TCP_CONG_CUBIC=y\n# CONFIG_DEFAULT_RENO is not set\n";
  EXPECT_NE(text.find(before), std::string::npos) << text;
  EXPECT_TRUE(text.ends_with("CONFIG_NETDEVICES=y\nCONFIG_NET_CORE=y\nCONFIG_VIRTIO_NET=y\n"
                             "CONFIG_IPV6=y\nCONFIG_PACKET=y\nCONFIG_DEFAULT_CUBIC=y\n"))
      << text;
}

}  // namespace
}  // namespace arrow::builder
