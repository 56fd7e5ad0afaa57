// Volumes on the host: -v parsing, guest-path rules, the ext4 superblock checks on real mke2fs
// images (and on truncated, foreign and corrupt ones), the lock between two runs, creation and
// its refusals, and the records arrow-init reads; plus PrepareBoot's volume plan.
#include "runner/volume.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/file_util.h"
#include "packer/initramfs.h"
#include "runner/launch.h"

namespace arrow::runner {
namespace {
namespace fs = std::filesystem;

// A string literal with its embedded NULs.
template <size_t N>
std::string Nul(const char (&s)[N]) {
  return std::string(s, N - 1);
}

TEST(VolumeFlag, ParsesDockerSyntax) {
  auto v = ParseVolumeFlag("pgdata.img:/var/lib/postgresql");
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(v->host, "pgdata.img");
  EXPECT_EQ(v->guest, "/var/lib/postgresql");
  EXPECT_FALSE(v->read_only);
  v = ParseVolumeFlag("/abs/site.img:/srv//www/:ro");
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(v->host, "/abs/site.img");
  EXPECT_EQ(v->guest, "/srv/www");
  EXPECT_TRUE(v->read_only);
  EXPECT_FALSE(ParseVolumeFlag("x.img:/data:rw")->read_only);
}

TEST(VolumeFlag, RefusesWhatCannotBeMounted) {
  EXPECT_NE(ParseVolumeFlag("x.img").message().find("expected IMAGE:/guest/path[:ro]"), std::string::npos);
  EXPECT_NE(ParseVolumeFlag(":/data").message().find("expected IMAGE:/guest/path"), std::string::npos);
  EXPECT_NE(ParseVolumeFlag("x.img:data").message().find("must be absolute"), std::string::npos);
  EXPECT_NE(ParseVolumeFlag("x.img:/data:rx").message().find("unknown option"), std::string::npos);
  EXPECT_NE(ParseVolumeFlag("x.img:/").message().find("cannot mount over the guest's root"), std::string::npos);
  EXPECT_NE(ParseVolumeFlag("x.img:/a/../b").message().find("'..' is not allowed"), std::string::npos);
  EXPECT_NE(ParseVolumeFlag("x.img:/a b").message().find("no spaces"), std::string::npos);
  for (const char* p : {"/proc", "/sys/x", "/dev", "/.arrow/y", "/init"})
    EXPECT_NE(ParseVolumeFlag(std::string("x.img:") + p).message().find("belongs to the kernel or to arrow-init"),
              std::string::npos)
        << p;
  EXPECT_TRUE(ParseVolumeFlag("x.img:/devices").ok());  // only /dev itself and below
}

class VolumeFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("vol-test");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  fs::path P(const char* name) { return dir_->path() / name; }
  std::optional<TempDir> dir_;
};

TEST_F(VolumeFiles, CreateInspectAndLock) {
  CreateVolumeOptions o;
  o.size = 16 << 20;
  ASSERT_TRUE(CreateVolume(P("data.img"), o).ok());
  auto info = InspectExt4(P("data.img"));
  ASSERT_TRUE(info.ok()) << info.message();
  EXPECT_EQ(info->file_bytes, 16u << 20);
  EXPECT_EQ(info->fs_bytes, 16u << 20);
  EXPECT_EQ(info->label, "data");
  EXPECT_TRUE(info->clean);
  EXPECT_TRUE(info->journal);
  EXPECT_EQ(info->uuid.size(), 36u);
  EXPECT_FALSE(fs::exists(P(".data.img.creating")));

  VolumeFlag rw{P("data.img").string(), "/data", false}, ro{P("data.img").string(), "/data", true};
  {
    auto a = DiskFile::OpenVolume(rw);
    ASSERT_TRUE(a.ok()) << a.message();
    EXPECT_EQ(a->size(), 16u << 20);
    auto b = DiskFile::OpenVolume(rw);  // flock is per open file: a second run conflicts
    EXPECT_NE(b.message().find("is in use by another arrow-run"), std::string::npos) << b.message();
    EXPECT_NE(DiskFile::OpenVolume(ro).message().find("that writes to it"), std::string::npos);
  }
  {
    auto a = DiskFile::OpenVolume(ro), b = DiskFile::OpenVolume(ro);  // readers share
    EXPECT_TRUE(a.ok() && b.ok());
    EXPECT_FALSE(DiskFile::OpenVolume(rw).ok());
  }
  EXPECT_TRUE(DiskFile::OpenVolume(rw).ok());  // released with the descriptors
}

TEST_F(VolumeFiles, CreateRefusals) {
  CreateVolumeOptions o;
  o.size = 4 << 20;
  EXPECT_NE(CreateVolume(P("small.img"), o).message().find("below the minimum of 8M"), std::string::npos);
  EXPECT_FALSE(fs::exists(P("small.img")));
  o.size = (16 << 20) + 100;
  EXPECT_NE(CreateVolume(P("odd.img"), o).message().find("multiple of 4K"), std::string::npos);
  o.size = 16 << 20;
  o.from = P("missing");
  EXPECT_NE(CreateVolume(P("from.img"), o).message().find("is not a directory"), std::string::npos);
  o.from.clear();
  ASSERT_TRUE(WriteFileAtomic(P("exists.img"), "precious").ok());
  EXPECT_NE(CreateVolume(P("exists.img"), o).message().find("already exists"), std::string::npos);
  EXPECT_EQ(*ReadFile(P("exists.img")), "precious");
  EXPECT_NE(CreateVolume(P("nodir/x.img"), o).message().find("does not exist"), std::string::npos);
  o.owner = "bogus";  // mke2fs rejects it: the error says so and leaves nothing behind
  EXPECT_NE(CreateVolume(P("owner.img"), o).message().find("mke2fs failed"), std::string::npos);
  EXPECT_FALSE(fs::exists(P("owner.img")));
  EXPECT_FALSE(fs::exists(P(".owner.img.creating")));
}

TEST_F(VolumeFiles, BadImagesAreNamed) {
  EXPECT_NE(InspectExt4(P("none.img")).message().find("No such file or directory (create it with"),
            std::string::npos);
  fs::create_directory(P("dir"));
  EXPECT_NE(InspectExt4(P("dir")).message().find("is a directory"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(P("odd.img"), std::string(1000, 'x')).ok());
  EXPECT_NE(InspectExt4(P("odd.img")).message().find("not a multiple of 512"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(P("zero.img"), std::string(1 << 20, '\0')).ok());
  EXPECT_NE(InspectExt4(P("zero.img")).message().find("not an ext4 image"), std::string::npos);
  CreateVolumeOptions o;
  o.size = 16 << 20;
  ASSERT_TRUE(CreateVolume(P("v.img"), o).ok());
  fs::resize_file(P("v.img"), 8 << 20);
  EXPECT_NE(InspectExt4(P("v.img")).message().find("is smaller than its filesystem"), std::string::npos);
}

TEST(GuestMounts, RecordsAreNulSeparated) {
  std::vector<GuestMount> m = {{GuestMount::Kind::kExt4, "arrow-vol0", "/data", "d.img"},
                               {GuestMount::Kind::kExt4ReadOnly, "arrow-vol1", "/srv", "s.img"},
                               {GuestMount::Kind::kTmpfs, "", "/cache", "tmpfs"}};
  EXPECT_EQ(EncodeGuestMounts(m), Nul("rw\0arrow-vol0\0/data\0d.img\0ro\0arrow-vol1\0/srv\0s.img\0"
                                      "tmpfs\0\0/cache\0tmpfs\0"));
  EXPECT_EQ(VolumeSerial(3), "arrow-vol3");
}

packer::ArrowImage Image(nlohmann::json volumes, bool virtio_blk = true) {
  packer::ArrowImage img;
  packer::Blob k, i;
  k.media_type = packer::kKernelMediaType;
  k.data = "KERNEL";
  i.media_type = packer::kInitramfsMediaType;
  i.data = Nul("INITRD\0\0");
  img.layers = {k, i};
  img.config_json = {{"entrypoint", {"/app"}}, {"volumes", volumes},
                     {"kernel", {{"cmdline", "console=ttyS0"}, {"virtio_blk", virtio_blk}}}};
  return img;
}

std::string VolumesFile(const BootSpec& b) {
  auto entries = packer::ReadInitramfsMemory(b.initrd.substr(8));
  if (!entries.ok()) return "(unreadable)";
  for (const auto& e : *entries)
    if (e.path == ".arrow/volumes") return e.data;
  return "(none)";
}

TEST_F(VolumeFiles, PrepareBootPlansDisksMountsAndNotes) {
  CreateVolumeOptions o;
  o.size = 16 << 20;
  ASSERT_TRUE(CreateVolume(P("a.img"), o).ok());
  ASSERT_TRUE(CreateVolume(P("b.img"), o).ok());
  RunOptions r;
  r.volumes = {P("a.img").string() + ":/var/lib/db", P("b.img").string() + ":/srv:ro"};
  auto b = PrepareBoot(Image({"/var/lib/db", "/cache"}), r);
  ASSERT_TRUE(b.ok()) << b.message();
  ASSERT_EQ(b->disks.size(), 2u);
  EXPECT_EQ(b->disks[0].serial, "arrow-vol0");
  EXPECT_FALSE(b->disks[0].read_only);
  EXPECT_EQ(b->disks[1].serial, "arrow-vol1");
  EXPECT_TRUE(b->disks[1].read_only);
  EXPECT_EQ(VolumesFile(*b), Nul("rw\0arrow-vol0\0/var/lib/db\0a.img\0ro\0arrow-vol1\0/srv\0b.img\0"
                                 "tmpfs\0\0/cache\0tmpfs\0"));
  ASSERT_EQ(b->notes.size(), 1u);  // the declared /cache without -v
  EXPECT_NE(b->notes[0].find("/cache has no -v: it is an ephemeral tmpfs"), std::string::npos);
  // While this boot holds the images, another one cannot take a.img read-write.
  r.volumes = {P("a.img").string() + ":/var/lib/db"};
  EXPECT_NE(PrepareBoot(Image({}), r).message().find("in use by another arrow-run"), std::string::npos);
}

TEST_F(VolumeFiles, PrepareBootRefusesNestingAndMissingDrivers) {
  CreateVolumeOptions o;
  o.size = 16 << 20;
  ASSERT_TRUE(CreateVolume(P("a.img"), o).ok());
  RunOptions r;
  r.volumes = {P("a.img").string() + ":/data/sub"};
  EXPECT_NE(PrepareBoot(Image({"/data"}), r).message().find("is inside the declared volume /data"),
            std::string::npos);
  r.volumes = {P("a.img").string() + ":/data"};
  auto e = PrepareBoot(Image({}, /*virtio_blk=*/false), r).message();
  EXPECT_NE(e.find("has no virtio-blk driver"), std::string::npos) << e;
  auto none = PrepareBoot(Image({}), RunOptions{});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->disks.empty());
  EXPECT_EQ(none->initrd, std::string("INITRD\0\0", 8));  // nothing appended without volumes
}

}  // namespace
}  // namespace arrow::runner
