// virtio-blk device and its I/O thread; see block.h.
#include "runner/devices/virtio/block.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "runner/jail/seccomp.h"

namespace arrow::runner::virtio {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kHeader = 16;
// The largest request accepted: far above what Linux sends (max_sectors 1280 KiB by default);
// data is never copied, so this only bounds a hostile chain.
constexpr uint64_t kMaxRequest = 64ull << 20;
// Requests taken per round before their results go back (bounds the work done unlocked).
constexpr size_t kBatch = 64;
constexpr uint32_t kMaxRangeSectors = 1u << 22;  // 2 GiB per DISCARD / WRITE_ZEROES

void Put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void Put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

// The byte range [skip, skip + len) of `spans` as iovecs.
std::vector<iovec> Iovecs(const std::vector<std::span<uint8_t>>& spans, uint64_t skip,
                          uint64_t len) {
  std::vector<iovec> out;
  for (auto s : spans) {
    if (len == 0) break;
    if (skip >= s.size()) {
      skip -= s.size();
      continue;
    }
    const uint64_t n = std::min<uint64_t>(s.size() - skip, len);
    out.push_back({s.data() + skip, n});
    len -= n;
    skip = 0;
  }
  return out;
}

// preadv/pwritev until all of `iov` moved; false on an error or end of file.
bool FullIo(int fd, std::vector<iovec> iov, uint64_t off, bool write) {
  size_t first = 0;
  while (first < iov.size()) {
    const int cnt = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = write ? pwritev(fd, iov.data() + first, cnt, static_cast<off_t>(off))
                      : preadv(fd, iov.data() + first, cnt, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<uint64_t>(n);
    auto left = static_cast<size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left) {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

// Writes zeros the slow way (files on filesystems without fallocate modes).
bool WriteZeros(int fd, uint64_t off, uint64_t len) {
  static const std::vector<uint8_t> zeros(1 << 20);
  while (len) {
    const uint64_t n = std::min<uint64_t>(len, zeros.size());
    iovec v{const_cast<uint8_t*>(zeros.data()), n};
    if (!FullIo(fd, {v}, off, true)) return false;
    off += n;
    len -= n;
  }
  return true;
}

// Sector range [sector, sector + bytes/512) inside a disk of `size` bytes, without overflow.
bool InRange(uint64_t sector, uint64_t bytes, uint64_t size) {
  return sector <= size / kSector && bytes <= size - sector * kSector;
}

}  // namespace

Result<std::unique_ptr<VirtioBlock>> VirtioBlock::Create(GuestMemory& mem, BlockDisk disk,
                                                         std::function<void()> interrupt) {
  if (disk.fd < 0) return Err("virtio-blk: no file");
  if (disk.size % kSector) return Err("virtio-blk: size ", std::to_string(disk.size), " is not a multiple of 512");
  if (disk.serial.size() > kBlockSerialLen)
    return Err("virtio-blk: serial '", disk.serial, "' is longer than 20 bytes");
  if (!disk.sync) disk.sync = [](int fd) { return fdatasync(fd); };
  std::unique_ptr<VirtioBlock> d(new VirtioBlock(mem, std::move(disk), std::move(interrupt)));
  for (int* fd : {&d->kick_fd_, &d->stop_fd_}) {
    *fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (*fd < 0) return Err("virtio-blk: eventfd: ", std::strerror(errno));
  }
  return d;
}

VirtioBlock::VirtioBlock(GuestMemory& mem, BlockDisk disk, std::function<void()> interrupt)
    : transport_(mem, *this, {kBlockQueueSize}, std::move(interrupt)), disk_(std::move(disk)) {
  Put64(config_ + 0, disk_.size / kSector);  // capacity
  Put32(config_ + 12, kBlockSegMax);         // seg_max
  Put32(config_ + 20, kSector);              // blk_size
  if (!disk_.read_only) {
    Put32(config_ + 36, kMaxRangeSectors);  // max_discard_sectors
    Put32(config_ + 40, 1);                 // max_discard_seg
    Put32(config_ + 44, 8);                 // discard_sector_alignment (4 KiB)
    Put32(config_ + 48, kMaxRangeSectors);  // max_write_zeroes_sectors
    Put32(config_ + 52, 1);                 // max_write_zeroes_seg
    config_[56] = 1;                        // write_zeroes_may_unmap
  }
}

VirtioBlock::~VirtioBlock() {
  Stop();
  for (int fd : {kick_fd_, stop_fd_})
    if (fd >= 0) close(fd);
}

uint64_t VirtioBlock::device_features() const {
  uint64_t f = kFeatureVersion1 | blk_feature::kSegMax | blk_feature::kBlkSize | blk_feature::kFlush;
  if (disk_.read_only) return f | blk_feature::kRo;
  return f | blk_feature::kDiscard | blk_feature::kWriteZeroes;
}

void VirtioBlock::Notify(uint32_t index) {
  uint64_t one = 1;
  if (index == 0) (void)!write(kick_fd_, &one, sizeof one);
}

BlockStats VirtioBlock::stats() {
  std::lock_guard lock(transport_.mu());
  return stats_;
}

uint8_t VirtioBlock::Transfer(const Chain& c, uint32_t type, uint64_t sector, uint32_t* written) {
  const bool out = type == blk_req::kOut;
  const uint64_t len = out ? c.readable_len - kHeader : c.writable_len - 1;
  if (out && disk_.read_only) return blk_status::kIoErr;
  if (len % kSector || !InRange(sector, len, disk_.size)) return blk_status::kIoErr;
  auto iov = out ? Iovecs(c.readable, kHeader, len) : Iovecs(c.writable, 0, len);
  if (!FullIo(disk_.fd, std::move(iov), disk_.offset + sector * kSector, out))
    return blk_status::kIoErr;
  if (!out) *written += static_cast<uint32_t>(len);
  std::lock_guard lock(transport_.mu());
  (out ? stats_.writes : stats_.reads)++;
  (out ? stats_.bytes_written : stats_.bytes_read) += len;
  return blk_status::kOk;
}

// DISCARD / WRITE_ZEROES: one 16-byte range {le64 sector, le32 sectors, le32 flags}.
uint8_t VirtioBlock::Fallocate(const Chain& c, uint32_t type) {
  if (disk_.read_only) return blk_status::kIoErr;
  if (c.readable_len != kHeader + 16) return blk_status::kIoErr;  // max_discard_seg = 1
  std::vector<uint8_t> seg;
  c.ReadInto(seg, kHeader);
  uint64_t sector;
  uint32_t count, flags;
  std::memcpy(&sector, seg.data(), 8);
  std::memcpy(&count, seg.data() + 8, 4);
  std::memcpy(&flags, seg.data() + 12, 4);
  const uint64_t bytes = uint64_t{count} * kSector;
  if (count > kMaxRangeSectors || (flags & ~1u) || !InRange(sector, bytes, disk_.size))
    return blk_status::kIoErr;
  if (flags && type == blk_req::kDiscard) return blk_status::kUnsupported;  // unmap: WRITE_ZEROES only
  const auto off = static_cast<off_t>(disk_.offset + sector * kSector);
  const auto n = static_cast<off_t>(bytes);
  if (type == blk_req::kDiscard) {
    // Discarded blocks may read back as anything; a hole is the cheapest. No hole support:
    // discarding is advisory, so succeed without doing anything.
    (void)fallocate(disk_.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n);
    return blk_status::kOk;
  }
  if (fallocate(disk_.fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, n) == 0 ||
      fallocate(disk_.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n) == 0 ||
      WriteZeros(disk_.fd, static_cast<uint64_t>(off), bytes))
    return blk_status::kOk;
  return blk_status::kIoErr;
}

uint32_t VirtioBlock::Serve(const Chain& c) {
  uint32_t written = 1;  // the status byte
  uint8_t st = blk_status::kIoErr;
  if (c.readable_len >= kHeader) {
    std::vector<uint8_t> hdr;
    c.ReadInto(hdr);
    uint32_t type;
    uint64_t sector;
    std::memcpy(&type, hdr.data(), 4);
    std::memcpy(&sector, hdr.data() + 8, 8);
    switch (type) {
      case blk_req::kIn:
      case blk_req::kOut:
        st = Transfer(c, type, sector, &written);
        break;
      case blk_req::kFlush:
        st = disk_.sync(disk_.fd) == 0 ? blk_status::kOk : blk_status::kIoErr;
        if (st == blk_status::kOk) {
          std::lock_guard lock(transport_.mu());
          stats_.flushes++;
        }
        break;
      case blk_req::kGetId: {
        uint8_t id[kBlockSerialLen] = {};
        std::memcpy(id, disk_.serial.data(), disk_.serial.size());
        const size_t n = std::min<uint64_t>(kBlockSerialLen, c.writable_len - 1);
        written += static_cast<uint32_t>(c.WriteAt(0, {id, n}));
        st = blk_status::kOk;
        break;
      }
      case blk_req::kDiscard:
      case blk_req::kWriteZeroes:
        st = Fallocate(c, type);
        break;
      default:
        st = blk_status::kUnsupported;
    }
  }
  if (st != blk_status::kOk) {
    std::lock_guard lock(transport_.mu());
    stats_.errors++;
  }
  c.WriteAt(c.writable_len - 1, {&st, 1});
  return written;
}

void VirtioBlock::ProcessQueue() {
  for (;;) {
    std::vector<Chain> batch;
    uint64_t generation;
    {
      std::lock_guard lock(transport_.mu());
      if (!transport_.running()) return;
      Queue& q = transport_.queue(0);
      while (batch.size() < kBatch) {
        auto c = q.Pop(transport_.mem(), kMaxRequest);
        if (!c) {
          transport_.DeviceError("request queue: " + c.message());
          return;
        }
        if (!*c) break;
        if ((*c)->writable_len == 0) {  // nowhere to put the status byte
          transport_.DeviceError("request queue: a request without a writable status byte");
          return;
        }
        batch.push_back(std::move(**c));
      }
      if (batch.empty()) return;
      generation = transport_.generation();
    }
    // The I/O itself runs unlocked: a vCPU acknowledging an interrupt never waits for a disk.
    // Guest RAM stays mapped for the VM's life, so the buffers stay valid even if the driver
    // resets meanwhile; results of a reset queue are then dropped.
    std::vector<uint32_t> lens;
    for (const Chain& c : batch) lens.push_back(Serve(c));
    std::lock_guard lock(transport_.mu());
    if (!transport_.running() || transport_.generation() != generation) return;
    for (size_t i = 0; i < batch.size(); i++) transport_.queue(0).PushUsed(batch[i].head, lens[i]);
    transport_.SignalUsed();
  }
}

void VirtioBlock::Start() {
  if (started_.exchange(true)) return;
  thread_ = std::thread([this] { Loop(); });
}

void VirtioBlock::Stop() {
  if (!started_.load() || !thread_.joinable()) return;
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof one);
  thread_.join();
}

void VirtioBlock::Loop() {
  jail::EnterThread(jail::Role::kBlock);
  for (;;) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {kick_fd_, POLLIN, 0}};
    int r = poll(fds, 2, -1);
    if (r < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    if (fds[1].revents) {
      uint64_t v;
      while (read(kick_fd_, &v, sizeof v) > 0) {
      }
    }
    ProcessQueue();
  }
}

}  // namespace arrow::runner::virtio
