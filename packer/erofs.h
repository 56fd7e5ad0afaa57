// The EROFS root layer of a large app (application/vnd.arrow.rootfs.v1.erofs).
//
// WriteErofs stages the entries in a private directory and runs erofs-utils' mkfs.erofs on it:
// lz4hc-compressed, every timestamp fixed (-T), a fixed UUID (-U), all files owned by root,
// no xattrs — so the same entries give the same bytes. The result is checked with fsck.erofs
// and its superblock before it is renamed into place. InspectErofs checks a superblock the way
// the arrow reader does for a layer that may come from a registry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "packer/initramfs.h"

namespace arrow::packer {

struct ErofsOptions {
  int64_t mtime = 0;  // every inode's time (SOURCE_DATE_EPOCH or 0)
  std::string uuid;   // 8-4-4-4-12 hex, fixed by the caller (derived from the recipe)
};

struct ErofsInfo {
  uint32_t block_size = 0;
  uint64_t blocks = 0;
  uint64_t inodes = 0;
  std::string uuid;
};

// Writes `out` atomically. Directories, regular files (from `source` or `data`) and symlinks;
// device nodes are refused (the kernel's devtmpfs provides them).
Result<ErofsInfo> WriteErofs(const std::vector<CpioEntry>& entries, const std::filesystem::path& out,
                             const ErofsOptions& options);

// Checks the superblock of an EROFS image held in memory: magic, block size, and that the
// image holds every block the superblock claims.
Result<ErofsInfo> InspectErofs(std::string_view image);

// A stable UUID from any text (the first 16 bytes of its SHA-256, as a version-4-shaped UUID).
std::string UuidFromText(std::string_view text);

}  // namespace arrow::packer
