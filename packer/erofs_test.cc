// The EROFS root layer: what mkfs.erofs makes from entries reads back with every file, mode and
// link (checked with fsck.erofs --extract), the same entries give the same bytes, and the
// superblock check refuses images a registry could hand us that are not whole EROFS images.
#include "packer/erofs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/file_util.h"
#include "packer/arrow_file.h"
#include "packer/test_util.h"

namespace arrow::packer {
namespace {
namespace fs = std::filesystem;

class ErofsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("erofs-test");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    testing::WriteHostFile(dir_->path() / "src/lib.so", std::string(100000, 'L'));
  }
  std::vector<CpioEntry> Entries() {
    std::vector<CpioEntry> e(4);
    e[0].path = "usr/lib/libx.so";
    e[0].source = (dir_->path() / "src/lib.so").string();
    e[0].mode = 0755;
    e[1].path = "etc/app.conf";
    e[1].data = "key = value\n";
    e[1].mode = 0600;
    e[2].path = "usr/lib/libx.so.1";
    e[2].type = CpioEntry::Type::kSymlink;
    e[2].link_target = "libx.so";
    e[3].path = "srv";
    e[3].type = CpioEntry::Type::kDirectory;
    e[3].mode = 0555;
    return e;
  }
  fs::path P(const char* n) { return dir_->path() / n; }
  std::optional<TempDir> dir_;
};

TEST_F(ErofsTest, WritesWhatReadsBack) {
  ErofsOptions o;
  o.mtime = 1700000000;
  o.uuid = UuidFromText("recipe");
  auto info = WriteErofs(Entries(), P("a.erofs"), o);
  ASSERT_TRUE(info.ok()) << info.message();
  EXPECT_EQ(info->uuid, o.uuid);
  EXPECT_EQ(info->block_size, 4096u);
  EXPECT_EQ(fs::file_size(P("a.erofs")) % 512, 0u);
  auto r = testing::RunCommand("fsck.erofs --extract=" + P("out").string() + " " + P("a.erofs").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(testing::ReadHostFile(P("out/usr/lib/libx.so")), std::string(100000, 'L'));
  EXPECT_EQ(testing::ReadHostFile(P("out/etc/app.conf")), "key = value\n");
  EXPECT_EQ(fs::read_symlink(P("out/usr/lib/libx.so.1")), "libx.so");
  struct stat st {};
  ASSERT_EQ(stat(P("out/etc/app.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat(P("out/srv").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  EXPECT_EQ(st.st_mtime, 1700000000);
}

TEST_F(ErofsTest, SameEntriesSameBytes) {
  ErofsOptions o;
  o.uuid = UuidFromText("recipe");
  ASSERT_TRUE(WriteErofs(Entries(), P("a.erofs"), o).ok());
  auto reversed = Entries();
  std::reverse(reversed.begin(), reversed.end());  // order of the entries does not matter
  ASSERT_TRUE(WriteErofs(reversed, P("b.erofs"), o).ok());
  EXPECT_EQ(testing::ReadHostFile(P("a.erofs")), testing::ReadHostFile(P("b.erofs")));
  o.uuid = UuidFromText("another recipe");
  ASSERT_TRUE(WriteErofs(Entries(), P("c.erofs"), o).ok());
  EXPECT_NE(testing::ReadHostFile(P("a.erofs")), testing::ReadHostFile(P("c.erofs")));
}

TEST_F(ErofsTest, RefusesDevicesAndLeavesNothing) {
  auto e = Entries();
  CpioEntry dev;
  dev.path = "dev/console";
  dev.type = CpioEntry::Type::kCharDevice;
  e.push_back(dev);
  EXPECT_NE(WriteErofs(e, P("d.erofs"), {}).message().find("device nodes belong in the initramfs"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(P("d.erofs")));
}

TEST_F(ErofsTest, SuperblockCheck) {
  ErofsOptions o;
  ASSERT_TRUE(WriteErofs(Entries(), P("a.erofs"), o).ok());
  const std::string img = testing::ReadHostFile(P("a.erofs"));
  EXPECT_TRUE(InspectErofs(img).ok());
  EXPECT_NE(InspectErofs(img.substr(0, 1000)).message().find("too small"), std::string::npos);
  EXPECT_NE(InspectErofs(std::string(8192, '\0')).message().find("bad superblock magic"), std::string::npos);
  EXPECT_NE(InspectErofs(img.substr(0, 4096)).message().find("the superblock claims"), std::string::npos);
  std::string bad = img;
  bad[1024 + 12] = 30;  // block size 2^30
  EXPECT_NE(InspectErofs(bad).message().find("unsupported block size"), std::string::npos);
}

TEST_F(ErofsTest, ArrowReaderChecksTheRootLayer) {
  ErofsOptions o;
  ASSERT_TRUE(WriteErofs(Entries(), P("a.erofs"), o).ok());
  testing::WriteHostFile(P("k"), "KERNEL");
  testing::WriteHostFile(P("i"), "INITRD");
  nlohmann::json cfg = {{"name", "t"}};
  ASSERT_TRUE(WriteArrow(P("ok.arrow"), cfg,
                         {{kKernelMediaType, P("k"), "vmlinuz"}, {kInitramfsMediaType, P("i"), "i"},
                          {kRootfsMediaType, P("a.erofs"), "root.erofs"}},
                         {})
                  .ok());
  auto img = ReadArrow(P("ok.arrow"));
  ASSERT_TRUE(img.ok()) << img.message();
  ASSERT_NE(img->FindLayer(kRootfsMediaType), nullptr);
  testing::WriteHostFile(P("junk.erofs"), std::string(8192, 'j'));
  ASSERT_TRUE(WriteArrow(P("bad.arrow"), cfg,
                         {{kKernelMediaType, P("k"), "vmlinuz"}, {kInitramfsMediaType, P("i"), "i"},
                          {kRootfsMediaType, P("junk.erofs"), "root.erofs"}},
                         {})
                  .ok());
  EXPECT_NE(ReadArrow(P("bad.arrow")).message().find("layer 2 (EROFS root): erofs: bad superblock magic"),
            std::string::npos);
}

TEST(Uuid, StableAndWellFormed) {
  EXPECT_EQ(UuidFromText("a"), UuidFromText("a"));
  EXPECT_NE(UuidFromText("a"), UuidFromText("b"));
  const std::string u = UuidFromText("a");
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
}

}  // namespace
}  // namespace arrow::packer
