// Kernel source trees for tuned-kernel builds: a tarball (Debian's linux-source-6.1 by default)
// or an unpacked directory.
//
// Identity feeds the cache key. Hashing a 140 MB tarball takes about a second, so its digest is
// remembered in the cache keyed by (path, size, mtime) and a cache hit never rereads it. A
// directory's identity is its path plus a summary of every file's size and mtime, so editing a
// source file invalidates kernels built from it. A tarball is unpacked once per digest into
// <cache>/kernels/src/<digest>/ (temp dir + rename, under a lock) and reused by every config.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "builder/file_lock.h"
#include "common/result.h"

namespace arrow::builder {

inline constexpr const char* kDefaultKernelSource = "/usr/src/linux-source-6.1.tar.xz";

struct KernelSource {
  std::filesystem::path path;  // as given (absolute)
  bool is_tarball = false;
  std::string identity;  // "tarball sha256:<hex>" or "dir <path> files=N bytes=N mtime=N"
  std::string digest;    // tarball sha256 hex (empty for a directory)
};

// Classifies and identifies `path` (empty = kDefaultKernelSource).
Result<KernelSource> IdentifyKernelSource(const std::filesystem::path& path,
                                          const std::filesystem::path& cache_dir);

// The directory holding the top-level kernel Makefile: `source.path` itself for a directory,
// else the tarball unpacked (once) under <cache_dir>/kernels/src/, held with a shared lock
// (`lease`) so that `arrow kernel prune` leaves it alone while a build uses it.
struct UnpackedSource {
  std::filesystem::path dir;
  std::optional<FileLock> lease;
};
Result<UnpackedSource> UnpackKernelSource(const KernelSource& source,
                                          const std::filesystem::path& cache_dir,
                                          const std::function<void(std::string_view)>& progress);

}  // namespace arrow::builder
