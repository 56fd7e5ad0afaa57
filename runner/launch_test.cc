// Boot preparation: image defaults, option overrides, and the appended override archive that
// carries `-- args` and `--env` to arrow-init.
#include "runner/launch.h"

#include <gtest/gtest.h>

#include "packer/initramfs.h"

namespace arrow::runner {
namespace {

packer::ArrowImage FakeImage() {
  packer::ArrowImage img;
  packer::Blob k, i;
  k.media_type = packer::kKernelMediaType;
  k.data = "KERNEL";
  i.media_type = packer::kInitramfsMediaType;
  i.data = "INITRD";  // 6 bytes: padded to 8 before an appended archive
  img.layers = {k, i};
  img.config_json = {{"entrypoint", {"/usr/bin/hello", "from", "Arrow"}},
                     {"env", {"PATH=/usr/bin", "LANG=C"}},
                     {"kernel", {{"cmdline", "console=ttyS0 panic=-1"}}},
                     {"vm", {{"memory", 64 << 20}, {"cpus", 2}}}};
  return img;
}

TEST(LaunchTest, ImageDefaultsAndOverrides) {
  auto img = FakeImage();
  RunOptions o;
  auto b = PrepareBoot(img, o);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->kernel, "KERNEL");
  EXPECT_EQ(b->initrd, "INITRD");  // nothing appended without args/env
  EXPECT_EQ(b->cmdline, "console=ttyS0 panic=-1 arrow.ctl=ttyS1");
  EXPECT_EQ(b->memory, 64u << 20);
  EXPECT_EQ(b->cpus, 2);
  o.memory = 256 << 20;
  o.cpus = 1;
  o.quiet = true;
  b = PrepareBoot(img, o);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->memory, 256u << 20);
  EXPECT_EQ(b->cpus, 1);
  EXPECT_EQ(b->cmdline, "console=ttyS0 panic=-1 quiet loglevel=0 arrow.ctl=ttyS1");
}

TEST(LaunchTest, MergeEnvReplacesAndAppends) {
  EXPECT_EQ(MergeEnv({"PATH=/bin", "LANG=C", "PATHX=1"}, {"PATH=/usr/bin", "NEW=", "LANG=C.UTF-8"}),
            (std::vector<std::string>{"PATH=/usr/bin", "LANG=C.UTF-8", "PATHX=1", "NEW="}));
}

TEST(LaunchTest, ArgsAndEnvTravelInAnAppendedArchive) {
  auto img = FakeImage();
  RunOptions o;
  o.args = std::vector<std::string>{"one", "two words"};
  o.env = {"LANG=C.UTF-8", "HELLO_EXIT=3"};
  auto b = PrepareBoot(img, o);
  ASSERT_TRUE(b.ok()) << b.message();
  ASSERT_GT(b->initrd.size(), 8u);
  EXPECT_EQ(b->initrd.substr(0, 8), std::string("INITRD\0\0", 8));
  auto entries = packer::ReadInitramfsMemory(b->initrd.substr(8));
  ASSERT_TRUE(entries.ok()) << entries.message();
  std::map<std::string, std::string> files;
  for (const auto& e : *entries)
    if (e.type == packer::CpioEntry::Type::kFile) files[e.path] = e.data;
  EXPECT_EQ(files[".arrow/argv"], std::string("/usr/bin/hello\0one\0two words\0", 29));
  EXPECT_EQ(files[".arrow/env"], std::string("PATH=/usr/bin\0LANG=C.UTF-8\0HELLO_EXIT=3\0", 40));
}

TEST(LaunchTest, EmptyArgsAfterDashDashClearTheRecipeArgs) {
  auto img = FakeImage();
  RunOptions o;
  o.args = std::vector<std::string>{};
  auto b = PrepareBoot(img, o);
  ASSERT_TRUE(b.ok());
  auto entries = packer::ReadInitramfsMemory(b->initrd.substr(8));
  ASSERT_TRUE(entries.ok());
  for (const auto& e : *entries)
    if (e.path == ".arrow/argv") EXPECT_EQ(e.data, std::string("/usr/bin/hello\0", 15));
}

TEST(LaunchTest, MissingLayersAreAnError) {
  packer::ArrowImage img;
  EXPECT_EQ(PrepareBoot(img, {}).message(), "the image has no kernel or no initramfs layer");
}

}  // namespace
}  // namespace arrow::runner
