// Volumes: ext4 image files a guest mounts at a path, attached as virtio-blk disks.
//
// Host side of the contract (docs/architecture.md, "Volumes"): `-v FILE:/path[:ro]` is parsed
// and checked before anything boots — the file must be a regular ext4 image at least as large
// as its filesystem claims, the guest path absolute and not inside another volume — and the
// image is locked with flock for the whole run (exclusive read-write, shared read-only), so a
// second arrow-run cannot corrupt it. arrow-init mounts each disk by its virtio serial; the
// records it reads (/.arrow/volumes) are made here too. `arrow volume create` makes images
// with e2fsprogs' mke2fs, through a temporary file renamed into place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace arrow::runner {

struct VolumeFlag {
  std::string host;   // the image file, as given
  std::string guest;  // normalised absolute guest path
  bool read_only = false;
};

// "FILE:/guest/path[:ro|:rw]" (docker's -v syntax for files).
Result<VolumeFlag> ParseVolumeFlag(const std::string& text);

// A guest mount path: absolute, normalised ("/a/b"), none of "." / ".." / empty components,
// no whitespace or control characters, and not a path Arrow or the kernel owns (/, /proc,
// /sys, /dev, /.arrow, /init and below). `what` names it in errors.
Result<std::string> NormaliseGuestPath(const std::string& path, const std::string& what);

// What an ext2/3/4 superblock says about an image.
struct Ext4Info {
  uint64_t file_bytes = 0;
  uint64_t fs_bytes = 0;      // blocks_count * block_size
  uint64_t free_bytes = 0;
  uint32_t block_size = 0;
  std::string uuid;           // 8-4-4-4-12 hex
  std::string label;
  bool clean = false;         // s_state: cleanly unmounted, no errors recorded
  bool errors = false;        // s_state: errors detected
  bool journal = false;       // has_journal (ext3/ext4)
};

// Reads and checks the superblock: a clear error for a missing file, a directory, a non-image,
// a file shorter than its filesystem, a size that is not a multiple of 512.
Result<Ext4Info> InspectExt4(const std::filesystem::path& image);

// A file open for one run as a disk: a volume image (locked; the lock goes with the
// descriptor) or a sealed memfd holding a layer of the arrow.
class DiskFile {
 public:
  DiskFile(DiskFile&& o) noexcept : fd_(o.fd_), size_(o.size_) { o.fd_ = -1; }
  DiskFile& operator=(DiskFile&&) = delete;
  ~DiskFile();
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  // Checks the image (InspectExt4), opens it read-write or read-only and locks it.
  static Result<DiskFile> OpenVolume(const VolumeFlag& v);
  // `data` in a memfd sealed against every change; `name` names it in /proc.
  static Result<DiskFile> SealedMemory(const std::string& name, std::string_view data);

 private:
  DiskFile(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_ = -1;
  uint64_t size_ = 0;
};

// One mount arrow-init performs: a disk found by `serial` (rw/ro ext4) or a tmpfs.
struct GuestMount {
  enum class Kind { kExt4, kExt4ReadOnly, kTmpfs } kind = Kind::kExt4;
  std::string serial;  // empty for tmpfs
  std::string path;
  std::string name;    // for arrow-init's messages: the image's file name, or "tmpfs"
};
// The /.arrow/volumes records: per mount "rw|ro|tmpfs\0serial\0path\0name\0".
std::string EncodeGuestMounts(const std::vector<GuestMount>& mounts);

// The serial of volume i ("arrow-vol<i>") and of the root layer's disk.
std::string VolumeSerial(size_t index);
inline constexpr char kRootSerial[] = "arrow-root";

// Smallest volume `arrow volume create` makes: ext4 with its journal needs a few MiB.
inline constexpr uint64_t kMinVolumeBytes = 8ull << 20;

struct CreateVolumeOptions {
  uint64_t size = 0;
  std::filesystem::path from;  // pre-fill from this directory (mke2fs -d); empty: empty fs
  std::string label;           // ext4 label; default: the file name without extension
  std::string owner;           // "UID:GID" of the root directory; default 0:0
};
// Creates `path` (which must not exist) as an ext4 image. Nothing is left behind on failure.
Status CreateVolume(const std::filesystem::path& path, const CreateVolumeOptions& options);

}  // namespace arrow::runner
