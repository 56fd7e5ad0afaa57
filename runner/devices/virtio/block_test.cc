// virtio-blk driven like Linux's virtio_blk driver drives it — and like a hostile guest might:
// sector ranges past the end or wrapping around, odd lengths, missing status bytes, writes to
// a read-only disk. The disk is a real temporary file; FLUSH goes through a counting sync.
#include "runner/devices/virtio/block.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "common/file_util.h"
#include "runner/devices/virtio/test_driver.h"

namespace arrow::runner::virtio {
namespace {
using namespace driver;

constexpr uint64_t kHdr = 0x20000, kData = 0x21000, kStatus = 0x30000;
constexpr uint64_t kDiskBytes = 64 * 512;

class BlockTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(false, 0); }
  void TearDown() override {
    dev_.reset();
    if (fd_ >= 0) close(fd_);
  }
  // A fresh device on a new file; the disk starts `offset` bytes into it.
  void Make(bool read_only, uint64_t offset) {
    dev_.reset();
    if (fd_ >= 0) close(fd_);
    auto m = GuestMemory::Create(2 << 20);
    ASSERT_TRUE(m.ok());
    mem_.emplace(std::move(*m));
    auto dir = TempDir::Create("blk-test");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    const std::string path = (dir_->path() / "disk.img").string();
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd_, 0);
    std::string fill(offset + kDiskBytes, 'x');
    ASSERT_EQ(pwrite(fd_, fill.data(), fill.size(), 0), static_cast<ssize_t>(fill.size()));
    BlockDisk d;
    d.fd = fd_;
    d.offset = offset;
    d.size = kDiskBytes;
    d.read_only = read_only;
    d.serial = "arrow-vol0";
    d.sync = [this](int fd) {
      syncs_++;
      if (on_sync_) on_sync_(fd);
      return sync_result_;
    };
    auto dev = VirtioBlock::Create(*mem_, std::move(d), [this] { irqs_++; });
    ASSERT_TRUE(dev.ok()) << dev.message();
    dev_ = std::move(*dev);
    Regs r{dev_->transport()};
    r.Bring(dev_->device_features() & ~uint64_t{0});
    rings_.emplace(*mem_, kDesc, kAvail, kUsed, 8);
    next_ = 0;
  }
  // Places a request: header, then `out` (device-readable) or `in_len` bytes to fill
  // (device-writable), then the status byte. Returns the status byte and the used length.
  std::pair<int, uint32_t> Request(uint32_t type, uint64_t sector, const std::string& out,
                                   uint32_t in_len, uint32_t hdr_len = 16) {
    uint8_t hdr[16] = {};
    std::memcpy(hdr, &type, 4);
    std::memcpy(hdr + 8, &sector, 8);
    EXPECT_TRUE(mem_->Write(kHdr, {reinterpret_cast<char*>(hdr), 16}).ok());
    EXPECT_TRUE(mem_->WriteObj<uint8_t>(kStatus, 0xee).ok());
    uint16_t d = 0;
    rings_->SetDesc(d, {kHdr, hdr_len, kDescFlagNext, 1});
    d++;
    if (!out.empty()) {
      EXPECT_TRUE(mem_->Write(kData, out).ok());
      rings_->SetDesc(d, {kData, static_cast<uint32_t>(out.size()), kDescFlagNext, uint16_t(d + 1)});
      d++;
    }
    if (in_len) {
      rings_->SetDesc(d, {kData, in_len, kDescFlagNext | kDescFlagWrite, uint16_t(d + 1)});
      d++;
    }
    rings_->SetDesc(d, {kStatus, 1, kDescFlagWrite, 0});
    rings_->Offer(0);
    dev_->ProcessQueue();
    const uint16_t used = rings_->UsedIdx();
    if (used != ++next_) return {-1, 0};
    return {rings_->Read<uint8_t>(kStatus), rings_->Used(used - 1).second};
  }
  std::string GuestData(size_t n) {
    auto s = mem_->Slice(kData, n);
    return s.ok() ? std::string(reinterpret_cast<char*>(s->data()), n) : "";
  }
  std::string FileBytes(uint64_t off, size_t n) {
    std::string b(n, '\0');
    EXPECT_EQ(pread(fd_, b.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
    return b;
  }
  uint32_t DeviceStatus() { return Regs{dev_->transport()}.Get(reg::kStatus); }

  std::optional<GuestMemory> mem_;
  std::optional<TempDir> dir_;
  int fd_ = -1;
  std::unique_ptr<VirtioBlock> dev_;
  std::optional<Rings> rings_;
  uint16_t next_ = 0;
  int irqs_ = 0, syncs_ = 0, sync_result_ = 0;
  std::function<void(int)> on_sync_;
};

TEST_F(BlockTest, IdentityFeaturesAndCapacity) {
  Regs r{dev_->transport()};
  EXPECT_EQ(r.Get(reg::kDeviceId), kBlockDeviceId);
  const uint64_t f = dev_->device_features();
  EXPECT_TRUE(f & kFeatureVersion1);
  EXPECT_TRUE(f & blk_feature::kFlush);
  EXPECT_TRUE(f & blk_feature::kSegMax);
  EXPECT_TRUE(f & blk_feature::kDiscard);
  EXPECT_FALSE(f & blk_feature::kRo);
  EXPECT_EQ(r.Get(reg::kConfig), kDiskBytes / 512);  // capacity, low half
  EXPECT_EQ(r.Get(reg::kConfig + 4), 0u);
  EXPECT_EQ(r.Get(reg::kConfig + 12), kBlockSegMax);
  EXPECT_EQ(r.Get(reg::kConfig + 20), 512u);
  EXPECT_EQ(DeviceStatus() & status::kDriverOk, status::kDriverOk);
  Make(true, 0);
  EXPECT_TRUE(dev_->device_features() & blk_feature::kRo);
  EXPECT_FALSE(dev_->device_features() & blk_feature::kDiscard);
}

TEST_F(BlockTest, WriteThenReadBackAtTheDiskOffset) {
  Make(false, 4096);
  const std::string data(1024, 'A');
  EXPECT_EQ(Request(blk_req::kOut, 3, data, 0), std::make_pair(0, 1u));
  EXPECT_EQ(FileBytes(4096 + 3 * 512, 1024), data);
  EXPECT_EQ(FileBytes(4096 + 2 * 512, 512), std::string(512, 'x'));  // neighbours untouched
  EXPECT_EQ(FileBytes(4096 + 5 * 512, 512), std::string(512, 'x'));
  EXPECT_EQ(Request(blk_req::kIn, 2, "", 2048), std::make_pair(0, 2049u));  // data + status
  EXPECT_EQ(GuestData(2048), std::string(512, 'x') + data + std::string(512, 'x'));
  auto st = dev_->stats();
  EXPECT_EQ(st.writes, 1u);
  EXPECT_EQ(st.bytes_read, 2048u);
  EXPECT_GT(irqs_, 0);
}

TEST_F(BlockTest, RangesPastTheEndAndOddLengthsAreIoErrors) {
  const std::string sector(512, 'B');
  EXPECT_EQ(Request(blk_req::kOut, 63, sector, 0).first, blk_status::kOk);  // the last sector
  EXPECT_EQ(Request(blk_req::kOut, 64, sector, 0).first, blk_status::kIoErr);
  EXPECT_EQ(Request(blk_req::kOut, 63, sector + sector, 0).first, blk_status::kIoErr);
  EXPECT_EQ(Request(blk_req::kIn, 64, "", 512).first, blk_status::kIoErr);
  // A sector whose byte offset wraps around 2^64 must not land inside the disk.
  EXPECT_EQ(Request(blk_req::kIn, (~uint64_t{0} / 512) + 2, "", 512).first, blk_status::kIoErr);
  EXPECT_EQ(Request(blk_req::kOut, 0, std::string(100, 'C'), 0).first, blk_status::kIoErr);
  EXPECT_EQ(Request(blk_req::kIn, 0, "", 513).first, blk_status::kIoErr);
  EXPECT_EQ(FileBytes(0, 512), std::string(512, 'x'));  // the odd write wrote nothing
  EXPECT_EQ(Request(blk_req::kIn, 0, "", 512, /*hdr_len=*/8).first, blk_status::kIoErr);
  EXPECT_EQ(Request(77, 0, "", 0).first, blk_status::kUnsupported);
  EXPECT_EQ(DeviceStatus() & status::kNeedsReset, 0u);  // request errors, not device errors
}

TEST_F(BlockTest, ReadOnlyDiskRefusesEveryWrite) {
  Make(true, 0);
  EXPECT_EQ(Request(blk_req::kOut, 0, std::string(512, 'D'), 0).first, blk_status::kIoErr);
  uint8_t range[16] = {};
  uint32_t n = 8;
  std::memcpy(range + 8, &n, 4);
  const std::string seg(reinterpret_cast<char*>(range), 16);
  EXPECT_EQ(Request(blk_req::kWriteZeroes, 0, seg, 0).first, blk_status::kIoErr);
  EXPECT_EQ(Request(blk_req::kDiscard, 0, seg, 0).first, blk_status::kIoErr);
  EXPECT_EQ(FileBytes(0, kDiskBytes), std::string(kDiskBytes, 'x'));
  EXPECT_EQ(Request(blk_req::kIn, 0, "", 512).first, blk_status::kOk);
  EXPECT_EQ(Request(blk_req::kFlush, 0, "", 0).first, blk_status::kOk);
}

TEST_F(BlockTest, FlushIsAcknowledgedOnlyAfterTheSyncOfTheWrittenFile) {
  const std::string data(512, 'E');
  ASSERT_EQ(Request(blk_req::kOut, 1, data, 0).first, blk_status::kOk);
  EXPECT_EQ(syncs_, 0);  // a write alone does not sync
  std::string seen;
  uint8_t status_at_sync = 0;
  on_sync_ = [&](int fd) {
    EXPECT_EQ(fd, fd_);
    seen = FileBytes(512, 512);                 // the write is in the file when sync runs
    status_at_sync = rings_->Read<uint8_t>(kStatus);  // and the guest has no answer yet
  };
  EXPECT_EQ(Request(blk_req::kFlush, 0, "", 0), std::make_pair(0, 1u));
  EXPECT_EQ(syncs_, 1);
  EXPECT_EQ(seen, data);
  EXPECT_EQ(status_at_sync, 0xee);
  sync_result_ = -1;  // the host could not sync: the guest must hear about it
  EXPECT_EQ(Request(blk_req::kFlush, 0, "", 0).first, blk_status::kIoErr);
  EXPECT_EQ(dev_->stats().flushes, 1u);
}

TEST_F(BlockTest, FlushOnARealFileReachesFdatasync) {
  BlockDisk d;
  d.fd = fd_;
  d.size = kDiskBytes;
  auto dev = VirtioBlock::Create(*mem_, std::move(d), [] {});
  ASSERT_TRUE(dev.ok());
  dev_ = std::move(*dev);
  Regs{dev_->transport()}.Bring(dev_->device_features());
  rings_.emplace(*mem_, kDesc, kAvail, kUsed, 8);
  next_ = 0;
  EXPECT_EQ(Request(blk_req::kFlush, 0, "", 0).first, blk_status::kOk);
  EXPECT_EQ(syncs_, 0);  // the default sync is fdatasync itself, not the test hook
  close(fd_);  // fdatasync of a closed descriptor fails: the default really calls it
  fd_ = -1;
  EXPECT_EQ(Request(blk_req::kFlush, 0, "", 0).first, blk_status::kIoErr);
}

TEST_F(BlockTest, GetIdAnswersTheSerial) {
  EXPECT_EQ(Request(blk_req::kGetId, 0, "", 20), std::make_pair(0, 21u));
  EXPECT_EQ(GuestData(20), std::string("arrow-vol0") + std::string(10, '\0'));
  EXPECT_EQ(Request(blk_req::kGetId, 0, "", 4), std::make_pair(0, 5u));  // a short buffer: cut
}

TEST_F(BlockTest, WriteZeroesAndDiscardTakeOneBoundedRange) {
  uint8_t range[16] = {};
  uint64_t sector = 8;
  uint32_t n = 8;
  std::memcpy(range, &sector, 8);
  std::memcpy(range + 8, &n, 4);
  const std::string seg(reinterpret_cast<char*>(range), 16);
  EXPECT_EQ(Request(blk_req::kWriteZeroes, 0, seg, 0).first, blk_status::kOk);
  EXPECT_EQ(FileBytes(8 * 512, 8 * 512), std::string(8 * 512, '\0'));
  EXPECT_EQ(FileBytes(7 * 512, 512), std::string(512, 'x'));
  EXPECT_EQ(FileBytes(16 * 512, 512), std::string(512, 'x'));
  EXPECT_EQ(Request(blk_req::kDiscard, 0, seg, 0).first, blk_status::kOk);
  EXPECT_EQ(Request(blk_req::kDiscard, 0, seg + seg, 0).first, blk_status::kIoErr);  // 2 ranges
  sector = 60;
  std::memcpy(range, &sector, 8);
  EXPECT_EQ(Request(blk_req::kWriteZeroes, 0, std::string(reinterpret_cast<char*>(range), 16), 0)
                .first,
            blk_status::kIoErr);  // 60 + 8 > 64 sectors
  EXPECT_EQ(FileBytes(60 * 512, 4 * 512), std::string(4 * 512, 'x'));
}

TEST_F(BlockTest, MalformedChainsAreDeviceErrorsNotCrashes) {
  // No writable byte at all: nowhere to answer.
  rings_->SetDesc(0, {kHdr, 16, 0, 0});
  rings_->Offer(0);
  dev_->ProcessQueue();
  EXPECT_EQ(DeviceStatus() & status::kNeedsReset, status::kNeedsReset);
  EXPECT_NE(dev_->transport().last_error().find("status byte"), std::string::npos);
  // Reset and bring up again; then a descriptor pointing outside guest RAM.
  Regs{dev_->transport()}.Bring(dev_->device_features());
  rings_.emplace(*mem_, kDesc, kAvail, kUsed, 8);
  rings_->SetDesc(0, {kHdr, 16, kDescFlagNext, 1});
  rings_->SetDesc(1, {uint64_t{1} << 40, 512, kDescFlagNext | kDescFlagWrite, 2});
  rings_->SetDesc(2, {kStatus, 1, kDescFlagWrite, 0});
  rings_->Offer(0);
  dev_->ProcessQueue();
  EXPECT_EQ(DeviceStatus() & status::kNeedsReset, status::kNeedsReset);
  EXPECT_EQ(FileBytes(0, kDiskBytes), std::string(kDiskBytes, 'x'));
}

TEST(BlockCreate, RejectsBadDisks) {
  auto m = GuestMemory::Create(1 << 20);
  ASSERT_TRUE(m.ok());
  BlockDisk d;
  d.fd = 0;
  d.size = 1000;
  EXPECT_EQ(VirtioBlock::Create(*m, d, [] {}).message(),
            "virtio-blk: size 1000 is not a multiple of 512");
  d.size = 512;
  d.serial = std::string(21, 's');
  EXPECT_NE(VirtioBlock::Create(*m, d, [] {}).message().find("longer than 20"), std::string::npos);
}

}  // namespace
}  // namespace arrow::runner::virtio
