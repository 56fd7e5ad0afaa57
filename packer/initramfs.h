// Deterministic initramfs: a cpio "newc" archive (libarchive) streamed through libzstd.
//
// Reproducible by construction: entries sorted by path, missing parent directories added,
// mtimes fixed (SOURCE_DATE_EPOCH or 0), uid/gid 0, inode numbers assigned in order, hardlinks
// (same source dev+inode) kept as hardlinks. The kernel's zstd decompressor reads the result as
// long as the level is <= 19 (window <= 8 MiB).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::packer {

struct CpioEntry {
  enum class Type { kFile, kDirectory, kSymlink, kCharDevice };
  std::string path;         // guest path without the leading '/' ("usr/bin/hello")
  Type type = Type::kFile;
  uint32_t mode = 0644;     // permission bits only (07777)
  std::string source;       // kFile: host file to read; when empty, `data` is the content
  std::string data;         // kFile: inline content (generated files); filled by ReadInitramfs
  std::string link_target;  // kSymlink
  uint32_t rdev_major = 0, rdev_minor = 0;  // kCharDevice
  uint64_t size = 0;        // filled by ReadInitramfs
  // Filled by ReadInitramfs (ignored by WriteInitramfs, which assigns them itself).
  uint64_t ino = 0;
  uint32_t nlink = 0;
  int64_t mtime = 0;
};

struct PackOptions {
  int zstd_level = 19;      // 1..19
  int threads = 0;          // zstd worker threads; 0 = number of cores
  int64_t mtime = 0;        // every entry's mtime; the CLI passes SOURCE_DATE_EPOCH or 0
};

struct PackStats {
  uint64_t entries = 0;
  uint64_t file_bytes = 0;        // sum of regular file sizes
  uint64_t cpio_bytes = 0;        // uncompressed archive size
  uint64_t compressed_bytes = 0;  // output size
};

// Writes <out> atomically (temp + rename). Errors name the entry or file at fault.
Result<PackStats> WriteInitramfs(std::vector<CpioEntry> entries, const std::filesystem::path& out,
                                 const PackOptions& options);

// Reads an initramfs (zstd-compressed or plain cpio) back, in archive order, with contents.
Result<std::vector<CpioEntry>> ReadInitramfs(const std::filesystem::path& path);
Result<std::vector<CpioEntry>> ReadInitramfsMemory(const std::string& bytes);

// Cap on the decompressed archive size (a tiny zstd frame can expand enormously).
inline constexpr uint64_t kMaxInitramfsBytes = 4ull << 30;
Result<std::vector<CpioEntry>> ReadInitramfsMemory(const std::string& bytes,
                                                   uint64_t max_uncompressed_bytes);

}  // namespace arrow::packer
