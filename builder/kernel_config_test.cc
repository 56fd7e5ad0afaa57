#include "builder/kernel_config.h"

#include <gtest/gtest.h>

namespace arrow::builder {
namespace {

KernelConfig Parse(std::string_view text, std::string_view name = "t.config") {
  auto r = ParseKernelConfig(text, name);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? *r : KernelConfig{};
}

std::string ErrorOf(std::string_view text) {
  auto r = ParseKernelConfig(text, "t.config");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.message();
}

TEST(KernelConfig, ParsesEveryValueKind) {
  auto c = Parse(R"(# a comment
CONFIG_A=y
CONFIG_B=m
# CONFIG_C is not set
CONFIG_D="ttyS0,115200 \"q\""
CONFIG_HZ=250
CONFIG_E=0x1000
CONFIG_F=n
   # indented comment
)");
  EXPECT_EQ(c.size(), 7u);
  EXPECT_EQ(c.ValueOf("CONFIG_A"), "y");
  EXPECT_EQ(c.ValueOf("CONFIG_B"), "m");
  EXPECT_EQ(c.ValueOf("CONFIG_C"), "n");
  EXPECT_EQ(c.ValueOf("CONFIG_D"), "\"ttyS0,115200 \\\"q\\\"\"");
  EXPECT_EQ(c.ValueOf("CONFIG_HZ"), "250");
  EXPECT_EQ(c.ValueOf("CONFIG_E"), "0x1000");
  EXPECT_EQ(c.ValueOf("CONFIG_F"), "n");
  EXPECT_EQ(c.ValueOf("CONFIG_ABSENT"), "n");
  EXPECT_EQ(c.Find("CONFIG_C")->origin, "t.config:4");
}

TEST(KernelConfig, RejectsMalformedLinesWithLocation) {
  EXPECT_EQ(
      ErrorOf("CONFIG_A=y\nVIRTIO=y\n"),
      "t.config:2: bad option name 'VIRTIO' (expected CONFIG_ followed by letters, digits or '_')");
  EXPECT_EQ(ErrorOf("CONFIG_A=yes\n"),
            "t.config:1: bad value 'yes' for CONFIG_A (expected y, m, n, a number or a \"quoted "
            "string\")");
  EXPECT_EQ(ErrorOf("CONFIG_A\n"),
            "t.config:1: expected CONFIG_NAME=value or '# CONFIG_NAME is not set', got 'CONFIG_A'");
  EXPECT_EQ(ErrorOf("CONFIG_S=\"open\n"),
            "t.config:1: bad value '\"open' for CONFIG_S (expected y, m, n, a number or a \"quoted "
            "string\")");
}

TEST(KernelConfig, MergeLaterWinsAndKeepsFirstPosition) {
  auto base = Parse("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\n", "base.config");
  auto net = Parse("CONFIG_B=y\nCONFIG_D=y\n# CONFIG_C is not set\n", "net.config");
  base.Merge(net);
  EXPECT_EQ(base.Text(), "CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D=y\n");
  EXPECT_EQ(base.Find("CONFIG_B")->origin, "net.config:1");
  EXPECT_EQ(base.Find("CONFIG_A")->origin, "base.config:1");
}

TEST(KernelConfig, TextIgnoresCommentsAndSpacing) {
  auto a = Parse("# why A\nCONFIG_A=y\n\n# CONFIG_B is not set\n");
  auto b = Parse("CONFIG_A=y   \n#   other words\n# CONFIG_B is not set\n");
  EXPECT_EQ(a.Text(), b.Text());
}

TEST(KernelConfig, FindsDroppedAndChangedOptions) {
  auto requested = Parse(R"(CONFIG_NET=y
CONFIG_VIRTIO_NET=y
# CONFIG_PCI is not set
CONFIG_KVM=m
CONFIG_NR_CPUS=16
# CONFIG_ACPI is not set
)",
                         "microvm.config");
  // What Kconfig produced: VIRTIO_NET vanished (NETDEVICES off), KVM forced built-in
  // (MODULES off), PCI turned on by something else, ACPI absent (fine).
  auto final_config = Parse(R"(CONFIG_NET=y
CONFIG_PCI=y
CONFIG_KVM=y
CONFIG_NR_CPUS=16
)",
                            ".config");
  auto dropped = FindDroppedOptions(requested, final_config);
  ASSERT_EQ(dropped.size(), 3u);
  EXPECT_EQ(dropped[0].name, "CONFIG_VIRTIO_NET");
  EXPECT_EQ(dropped[0].actual, "n");
  EXPECT_EQ(dropped[1].name, "CONFIG_PCI");
  EXPECT_EQ(dropped[2].name, "CONFIG_KVM");
  auto st = VerifyKernelConfig(requested, final_config);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().substr(0, st.message().find("\nEnable")),
            "3 requested kernel option(s) did not survive Kconfig's dependency resolution:\n"
            "  microvm.config:2: CONFIG_VIRTIO_NET=y -> not set\n"
            "  microvm.config:3: CONFIG_PCI=n -> CONFIG_PCI=y\n"
            "  microvm.config:4: CONFIG_KVM=m -> CONFIG_KVM=y");
}

TEST(KernelConfig, VerifyPassesWhenEverythingSurvived) {
  auto requested = Parse("CONFIG_A=y\n# CONFIG_B is not set\n");
  auto final_config = Parse("CONFIG_A=y\nCONFIG_OTHER=y\n# CONFIG_B is not set\n");
  EXPECT_TRUE(VerifyKernelConfig(requested, final_config).ok());
}

}  // namespace
}  // namespace arrow::builder
