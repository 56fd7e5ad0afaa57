// libFuzzer target: a hostile virtio-blk driver. The input is a program of operations on a
// 1 MiB guest with a 64 KiB disk in a memfd: register writes and reads anywhere in the
// virtio-mmio window, raw writes into guest memory (rings, descriptors, request headers with
// any type and sector, data), and device processing. The device's sources are compiled into
// this target with the sanitizers, so an out-of-bounds access of guest memory or of the disk
// range, an overflow in the sector arithmetic or a hang on a hostile chain is a finding.
// A read-only disk is fuzzed too (the first input byte picks): after every run the target
// checks that the read-only disk's bytes are unchanged.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runner/devices/virtio/block.h"
#include "runner/fuzz/fuzz_input.h"

namespace {

using namespace arrow::runner;

constexpr size_t kDisk = 64 * 1024;

using fuzz::Input;

int DiskFd() {
  static int fd = [] {
    int f = memfd_create("fuzz-disk", MFD_CLOEXEC);
    if (f >= 0 && ftruncate(f, kDisk + 4096) != 0) abort();
    return f;
  }();
  return fd;
}

void Run(virtio::VirtioBlock& dev, GuestMemory* mem, Input in) {
  uint8_t op;
  while (in.Take(&op, 1)) {
    switch (op & 3) {  // bits 2..4: the access width of register operations
      case 0: {
        uint16_t off;
        uint32_t v;
        if (!in.Take(&off, 2) || !in.Take(&v, 4)) return;
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        dev.transport().Write(off % 0x200, std::span<const uint8_t>(b, 1 + (op >> 2) % 4));
        break;
      }
      case 1: {
        uint16_t off;
        if (!in.Take(&off, 2)) return;
        uint8_t b[8];
        dev.transport().Read(off % 0x200, std::span<uint8_t>(b, 1 + (op >> 2) % 8));
        break;
      }
      case 2: {
        if (!in.WriteGuest(*mem, 1u << 20)) return;
        break;
      }
      case 3:
        dev.ProcessQueue();
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto created = GuestMemory::Create(1 << 20);
  if (!created.ok() || size < 1 || DiskFd() < 0) return 0;
  const bool read_only = data[0] & 1;
  static std::vector<uint8_t> before(kDisk + 4096), after(kDisk + 4096);
  if (read_only && pread(DiskFd(), before.data(), before.size(), 0) != static_cast<ssize_t>(before.size()))
    abort();
  virtio::BlockDisk disk;
  disk.fd = DiskFd();
  disk.offset = 4096;  // the disk starts inside the file: nothing may touch the first page
  disk.size = kDisk;
  disk.read_only = read_only;
  disk.serial = "fuzz";
  disk.sync = [](int) { return 0; };
  auto dev = virtio::VirtioBlock::Create(*created, std::move(disk), [] {});
  if (!dev.ok()) return 0;
  Run(**dev, &*created, Input{data + 1, size - 1});
  if (read_only) {
    if (pread(DiskFd(), after.data(), after.size(), 0) != static_cast<ssize_t>(after.size())) abort();
    if (before != after) abort();  // a write reached a read-only disk
  }
  // The page before the disk is never written (a negative or wrapped offset would land there).
  std::vector<uint8_t> head(4096);
  if (pread(DiskFd(), head.data(), head.size(), 0) != 4096) abort();
  for (uint8_t b : head)
    if (b != 0) abort();
  return 0;
}
