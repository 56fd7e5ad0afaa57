// Boot preparation: image defaults, option overrides, and the appended override archive that
// carries `-- args` and `--env` to arrow-init.
#include "runner/launch.h"

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "common/sha256.h"
#include "packer/initramfs.h"
#include "packer/zstd_writer.h"
#include "runner/kernel_layer.h"
#include "runner/testing/elf_image.h"

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

// An arrow whose kernel layer is a zstd-compressed ELF vmlinux.
packer::ArrowImage VmlinuxImage(const std::string& elf, const std::filesystem::path& tmp) {
  auto w = packer::ZstdFileWriter::Create(tmp / "k.zst", 19, 1);
  EXPECT_TRUE(w.ok() && w->Write(elf).ok() && w->Finish().ok());
  auto img = FakeImage();
  img.layers[0].media_type = packer::kVmlinuxMediaType;
  img.layers[0].data = ReadFile(tmp / "k.zst").value();
  img.layers[0].digest = Sha256Digest(img.layers[0].data);
  return img;
}

TEST(LaunchTest, VmlinuxLayerIsDecompressedOnceIntoTheCache) {
  auto tmp = TempDir::Create("arrow-launch-test");
  ASSERT_TRUE(tmp.ok());
  const std::string note = testing::ElfNote(std::string("Xen\0", 4), 18, std::string(4, '\0'));
  const std::string elf = testing::MakeElf(0x1000000, {{1, 0x1000000, std::string(8192, '\x90'), 0}, {4, 0, note, 0}});
  auto img = VmlinuxImage(elf, tmp->path());
  const auto cache = tmp->path() / "vmlinux";
  const auto cached = cache / (img.layers[0].digest.substr(7) + ".elf");

  auto first = LoadKernelLayer(img, cache);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_TRUE(first->vmlinux);
  EXPECT_TRUE(first->pvh_note);
  EXPECT_FALSE(first->cache_hit);
  EXPECT_EQ(first->bytes, elf);
  EXPECT_EQ(first->file, cached);
  EXPECT_EQ(ReadFile(cached).value(), elf);
  auto second = LoadKernelLayer(img, cache);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->bytes, elf);

  // A damaged cache file is not booted: the layer is decompressed again and the file replaced.
  ASSERT_TRUE(WriteFileAtomic(cached, elf.substr(0, 100)).ok());
  auto repaired = LoadKernelLayer(img, cache);
  ASSERT_TRUE(repaired.ok()) << repaired.message();
  EXPECT_FALSE(repaired->cache_hit);
  EXPECT_EQ(ReadFile(cached).value(), elf);

  // PrepareBoot hands the ELF and its cached path to the VMMs.
  RunOptions o;
  o.kernel_cache = cache;
  auto b = PrepareBoot(img, o);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_TRUE(b->vmlinux);
  EXPECT_EQ(b->kernel, elf);
  EXPECT_EQ(b->kernel_file, cached.string());
  // No cache: decompressed in memory, nothing written.
  o.kernel_cache = std::filesystem::path();
  auto nocache = PrepareBoot(img, o);
  ASSERT_TRUE(nocache.ok());
  EXPECT_EQ(nocache->kernel, elf);
  EXPECT_TRUE(nocache->kernel_file.empty());
}

TEST(LaunchTest, BadVmlinuxLayersAreRejectedNamingTheLayer) {
  auto tmp = TempDir::Create("arrow-launch-test");
  ASSERT_TRUE(tmp.ok());
  RunOptions o;
  o.kernel_cache = tmp->path() / "vmlinux";
  // Not zstd at all.
  auto img = FakeImage();
  img.layers[0].media_type = packer::kVmlinuxMediaType;
  img.layers[0].digest = Sha256Digest("KERNEL");
  std::string m = PrepareBoot(img, o).message();
  EXPECT_EQ(m.rfind("the kernel layer " + img.layers[0].digest + " (zstd-compressed vmlinux): ", 0), 0u) << m;
  // zstd, but not a bootable ELF: an entry outside its segments.
  auto bad = VmlinuxImage(testing::MakeElf(0x2000000, {{1, 0x1000000, "code", 0}}), tmp->path());
  m = PrepareBoot(bad, o).message();
  EXPECT_NE(m.find("is not inside a loaded segment"), std::string::npos) << m;
  EXPECT_EQ(m.rfind("the kernel layer sha256:", 0), 0u) << m;
  EXPECT_FALSE(std::filesystem::exists(o.kernel_cache->string() + "/" + bad.layers[0].digest.substr(7) + ".elf"));
}

}  // namespace
}  // namespace arrow::runner
