// Tests for the initramfs writer and reader: round trip of every entry type, reproducibility,
// the kernel-relevant zstd frame properties, atomic output, and external tools reading it.
#include <gtest/gtest.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader: stable in practice, "experimental" in name
#include <zstd.h>

#include <algorithm>
#include <filesystem>

#include "common/file_util.h"
#include "packer/initramfs.h"
#include "packer/test_util.h"

namespace arrow::packer {
namespace {

namespace fs = std::filesystem;
using testing::ReadHostFile;
using testing::RunCommand;
using testing::ShellQuote;
using testing::WriteHostFile;
using Type = CpioEntry::Type;

class InitramfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("packer-test");
    ASSERT_TRUE(t.ok()) << t.message();
    tmp_ = std::make_unique<TempDir>(std::move(t).value());
    dir_ = tmp_->path();
    WriteHostFile(dir_ / "src/hello", "hello binary\n");
    WriteHostFile(dir_ / "src/libc.so", std::string(100000, 'x') + "end");
    fs::create_hard_link(dir_ / "src/libc.so", dir_ / "src/libc-link.so");
  }

  std::vector<CpioEntry> Entries() {
    std::vector<CpioEntry> e;
    e.push_back({.path = "usr/bin/hello", .mode = 0755, .source = (dir_ / "src/hello").string()});
    e.push_back({.path = "lib/libc.so.6", .source = (dir_ / "src/libc.so").string()});
    e.push_back({.path = "lib64/libc.so.6", .source = (dir_ / "src/libc-link.so").string()});
    e.push_back({.path = "init", .mode = 0700, .data = "#!/bin/sh\necho hi\n"});
    e.push_back({.path = "bin", .type = Type::kSymlink, .link_target = "usr/bin"});
    e.push_back({.path = "dev/console", .type = Type::kCharDevice, .mode = 0600,
                 .rdev_major = 5, .rdev_minor = 1});
    e.push_back({.path = "tmp", .type = Type::kDirectory, .mode = 01777});
    return e;
  }

  PackOptions Opts(int level = 3) { return PackOptions{.zstd_level = level, .threads = 2}; }

  std::unique_ptr<TempDir> tmp_;
  fs::path dir_;
};

const CpioEntry* Find(const std::vector<CpioEntry>& v, const std::string& path) {
  for (const auto& e : v)
    if (e.path == path) return &e;
  return nullptr;
}

TEST_F(InitramfsTest, RoundTripsEveryEntryType) {
  auto out = dir_ / "initramfs.cpio.zst";
  auto stats = WriteInitramfs(Entries(), out, Opts());
  ASSERT_TRUE(stats.ok()) << stats.message();
  auto read = ReadInitramfs(out);
  ASSERT_TRUE(read.ok()) << read.message();
  std::vector<std::string> paths;
  for (const auto& e : *read) paths.push_back(e.path);
  // Path order, except that libarchive's new-cpio link resolver holds a hardlink set back until
  // its last member, then writes the set together (data once, on the last member).
  EXPECT_EQ(paths, (std::vector<std::string>{"bin", "dev", "dev/console", "init", "lib", "lib64",
                                             "lib/libc.so.6", "lib64/libc.so.6", "tmp", "usr",
                                             "usr/bin", "usr/bin/hello"}));
  EXPECT_EQ(stats->entries, 12u);
  EXPECT_EQ(stats->compressed_bytes, fs::file_size(out));
  EXPECT_EQ(stats->file_bytes, 13u + 100003u + 18u);  // hardlinked data counted once

  const CpioEntry* hello = Find(*read, "usr/bin/hello");
  EXPECT_EQ(hello->type, Type::kFile);
  EXPECT_EQ(hello->mode, 0755u);
  EXPECT_EQ(hello->data, "hello binary\n");
  const CpioEntry* init = Find(*read, "init");
  EXPECT_EQ(init->mode, 0700u);
  EXPECT_EQ(init->data, "#!/bin/sh\necho hi\n");
  const CpioEntry* bin = Find(*read, "bin");
  EXPECT_EQ(bin->type, Type::kSymlink);
  EXPECT_EQ(bin->link_target, "usr/bin");
  const CpioEntry* console = Find(*read, "dev/console");
  EXPECT_EQ(console->type, Type::kCharDevice);
  EXPECT_EQ(console->rdev_major, 5u);
  EXPECT_EQ(console->rdev_minor, 1u);
  EXPECT_EQ(console->mode, 0600u);
  EXPECT_EQ(Find(*read, "tmp")->mode, 01777u);
  const CpioEntry* usr = Find(*read, "usr");
  EXPECT_EQ(usr->type, Type::kDirectory);
  EXPECT_EQ(usr->mode, 0755u);
  EXPECT_EQ(usr->nlink, 3u);  // ".", its entry in the root, "usr/bin/.."

  // The hardlink pair shares one inode, link count 2 and the data.
  const CpioEntry* a = Find(*read, "lib/libc.so.6");
  const CpioEntry* b = Find(*read, "lib64/libc.so.6");
  EXPECT_EQ(a->ino, b->ino);
  EXPECT_EQ(a->nlink, 2u);
  EXPECT_EQ(b->nlink, 2u);
  EXPECT_EQ(a->data, b->data);
  EXPECT_EQ(a->size, 100003u);
  // Inode numbers are 1.. in path order; everything else is unique.
  EXPECT_EQ(Find(*read, "bin")->ino, 1u);
  EXPECT_EQ(Find(*read, "usr/bin/hello")->ino, 12u);
  EXPECT_EQ(b->ino, 6u);
}

TEST_F(InitramfsTest, ByteIdenticalTwiceAndInAnyOrder) {
  auto one = dir_ / "one.zst", two = dir_ / "two.zst", three = dir_ / "three.zst";
  ASSERT_TRUE(WriteInitramfs(Entries(), one, Opts()).ok());
  ASSERT_TRUE(WriteInitramfs(Entries(), two, Opts()).ok());
  auto reversed = Entries();
  std::reverse(reversed.begin(), reversed.end());
  PackOptions more_threads = Opts();
  more_threads.threads = 1;  // output does not depend on the worker count
  ASSERT_TRUE(WriteInitramfs(reversed, three, more_threads).ok());
  EXPECT_EQ(ReadHostFile(one), ReadHostFile(two));
  EXPECT_EQ(ReadHostFile(one), ReadHostFile(three));
}

TEST_F(InitramfsTest, MtimeHonouredForEveryEntry) {
  auto out = dir_ / "m.zst";
  PackOptions o = Opts();
  o.mtime = 1700000000;
  ASSERT_TRUE(WriteInitramfs(Entries(), out, o).ok());
  auto read = ReadInitramfs(out);
  ASSERT_TRUE(read.ok()) << read.message();
  for (const auto& e : *read) EXPECT_EQ(e.mtime, 1700000000) << e.path;
}

TEST_F(InitramfsTest, RejectsLevelAbove19) {
  auto out = dir_ / "x.zst";
  auto r = WriteInitramfs(Entries(), out, Opts(20));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("zstd level 20 is out of range: use 1..19"), std::string::npos)
      << r.message();
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(InitramfsTest, FrameFitsTheKernelDecompressor) {
  auto out = dir_ / "k.zst";
  ASSERT_TRUE(WriteInitramfs(Entries(), out, Opts(19)).ok());
  std::string bytes = ReadHostFile(out);
  ZSTD_frameHeader h;
  ASSERT_EQ(ZSTD_getFrameHeader(&h, bytes.data(), bytes.size()), 0u);
  EXPECT_EQ(h.frameType, ZSTD_frame);
  EXPECT_LE(h.windowSize, 8u << 20);
  EXPECT_EQ(h.checksumFlag, 1u);
  // One frame, nothing after it.
  EXPECT_EQ(ZSTD_findFrameCompressedSize(bytes.data(), bytes.size()), bytes.size());
}

TEST_F(InitramfsTest, MissingSourceLeavesNoFileAndNamesIt) {
  auto out = dir_ / "out/initramfs.zst";
  fs::create_directories(out.parent_path());
  WriteHostFile(out, "previous build");
  auto e = Entries();
  e.push_back({.path = "usr/lib/gone.so", .source = (dir_ / "src/gone.so").string()});
  auto r = WriteInitramfs(e, out, Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("usr/lib/gone.so"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("src/gone.so"), std::string::npos) << r.message();
  EXPECT_EQ(ReadHostFile(out), "previous build");  // untouched
  EXPECT_EQ(std::distance(fs::directory_iterator(out.parent_path()), fs::directory_iterator{}), 1);
}

TEST_F(InitramfsTest, SourceUnreadableMidWriteLeavesNoFile) {
  // A directory passes open() but fails read(): the failure happens while streaming.
  auto out = dir_ / "out2/initramfs.zst";
  fs::create_directories(out.parent_path());
  fs::create_directories(dir_ / "src/adir");
  auto e = Entries();
  e.push_back({.path = "zzz", .source = (dir_ / "src/adir").string()});
  auto r = WriteInitramfs(e, out, Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("zzz"), std::string::npos) << r.message();
  EXPECT_TRUE(fs::is_empty(out.parent_path()));
}

TEST_F(InitramfsTest, UnwritableDestinationFails) {
  auto r = WriteInitramfs(Entries(), dir_ / "no/such/dir/initramfs.zst", Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("no/such/dir"), std::string::npos) << r.message();
}

TEST_F(InitramfsTest, RejectsBadEntries) {
  auto out = dir_ / "bad.zst";
  auto dup = Entries();
  dup.push_back({.path = "/init", .data = "again"});
  auto r = WriteInitramfs(dup, out, Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("initramfs entry 'init' is listed twice"), std::string::npos)
      << r.message();

  auto dotdot = Entries();
  dotdot.push_back({.path = "usr/../../etc/passwd", .data = "x"});
  r = WriteInitramfs(dotdot, out, Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("'usr/../../etc/passwd'"), std::string::npos) << r.message();

  auto under_file = Entries();
  under_file.push_back({.path = "init/x", .data = "x"});
  r = WriteInitramfs(under_file, out, Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("parent 'init' is a file"), std::string::npos) << r.message();

  auto no_target = Entries();
  no_target.push_back({.path = "lnk", .type = CpioEntry::Type::kSymlink});
  r = WriteInitramfs(no_target, out, Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), out.string() + ": initramfs entry 'lnk': symlink without a target");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(InitramfsTest, ExternalToolsReadIt) {
  auto out = dir_ / "ext.zst";
  ASSERT_TRUE(WriteInitramfs(Entries(), out, Opts(19)).ok());
  auto r = RunCommand("zstd -t -q " + ShellQuote(out.string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand("zstd -d -c " + ShellQuote(out.string()) + " | cpio -t --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "bin\ndev\ndev/console\ninit\nlib\nlib64\nlib/libc.so.6\nlib64/libc.so.6\ntmp\nusr\n"
            "usr/bin\nusr/bin/hello\n");
  // GNU cpio extracts the hardlink pair with the shared content.
  auto x = dir_ / "extract";
  fs::create_directories(x);
  r = RunCommand("cd " + ShellQuote(x.string()) + " && zstd -d -c " + ShellQuote(out.string()) +
                 " | cpio -id --quiet --no-absolute-filenames 'lib*'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(fs::hard_link_count(x / "lib64/libc.so.6"), 2u);
  EXPECT_EQ(fs::file_size(x / "lib/libc.so.6"), 100003u);
}

TEST_F(InitramfsTest, ReadsPlainCpioAndRejectsCorruptInput) {
  auto out = dir_ / "c.zst";
  ASSERT_TRUE(WriteInitramfs(Entries(), out, Opts()).ok());
  std::string z = ReadHostFile(out);
  auto plain = RunCommand("zstd -d -c " + ShellQuote(out.string()) + " > " +
                          ShellQuote((dir_ / "plain.cpio").string()));
  ASSERT_EQ(plain.exit_code, 0);
  auto p = ReadInitramfs(dir_ / "plain.cpio");
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->size(), 12u);

  auto truncated = ReadInitramfsMemory(z.substr(0, z.size() / 2));
  ASSERT_FALSE(truncated.ok());
  std::string flipped = z;
  flipped[flipped.size() / 2] ^= 0x55;
  EXPECT_FALSE(ReadInitramfsMemory(flipped).ok());  // the frame checksum catches it at worst
  EXPECT_FALSE(ReadInitramfsMemory("definitely not an archive").ok());
  auto capped = ReadInitramfsMemory(z, 1000);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.message().find("exceeds the limit of 1000 bytes"), std::string::npos);
}

TEST_F(InitramfsTest, ThreeWayHardlinkWritesDataOnce) {
  fs::create_hard_link(dir_ / "src/libc.so", dir_ / "src/third");
  auto e = Entries();
  e.push_back({.path = "opt/libc.so.6", .mode = 0600, .source = (dir_ / "src/third").string()});
  auto out = dir_ / "three.zst";
  auto stats = WriteInitramfs(e, out, Opts());
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->file_bytes, 13u + 100003u + 18u);
  EXPECT_LT(stats->cpio_bytes, 150000u);  // the 100 kB body is stored once, not three times
  auto read = ReadInitramfs(out);
  ASSERT_TRUE(read.ok()) << read.message();
  const CpioEntry* o = Find(*read, "opt/libc.so.6");
  EXPECT_EQ(o->nlink, 3u);
  EXPECT_EQ(o->mode, 0644u);  // one inode, one mode: the first member's
  EXPECT_EQ(o->ino, Find(*read, "lib/libc.so.6")->ino);
  EXPECT_EQ(o->size, 100003u);
}

// Found by fuzz_read_initramfs: a cpio whose data read failed without a libarchive message
// made the reader build an error from a null C string.
TEST(InitramfsReaderTest, FuzzRegressionNullErrorMessage) {
  const std::string hex =
      "3037303730373137373030303730313737303034303735353030303030303030303030303030303030343030"
      "30303030313533303231373633333230303030303230303030303030303030302e0030373037303731373730"
      "3030373031373733303430373535303030303030303030303030303030303032303030303030313533303231"
      "3736333332303030303034303030303030303030303064657600303730373037313737303030373031373736"
      "3032303634343030303030303030303030303030303030313030323430313135333032313736333332303030"
      "3031343030303030303030303030646576db9c90918c90939a00303730373037313737303030373031373731"
      "3034303735353030303030303030303030303030303030303030303030303030303030303030303030303030"
      "3030303031393233353739353930757372003037303730373137373030303730313737323034303735353030"
      "3030303030303030303030303030303230303030303031353330323137363333323030303031303030303030"
      "3030303030307573722f62696e00303730373037313737303030373031373734313030363434303030303030"
      "3030303030303030303030323030303030303135333032313736333332303030303132303030303030303030"
      "303375000000000000000000";
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  ASSERT_EQ(bytes.size(), 496u);
  EXPECT_FALSE(ReadInitramfsMemory(bytes).ok());
}

}  // namespace
}  // namespace arrow::packer
