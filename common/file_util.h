// Small file helpers shared by every component: whole-file reads and atomic writes.
//
// Every output Arrow produces goes through AtomicFile: it is written to a temporary file in the
// destination's directory and renamed into place only on Commit(), so a failed or interrupted
// build never leaves a half-written file behind.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace arrow {

Result<std::string> ReadFile(const std::filesystem::path& path);

// Arrow's cache (kernels, registry blobs, decompressed kernel layers): $ARROW_CACHE_DIR, else
// $XDG_CACHE_HOME/arrow (when absolute), else ~/.cache/arrow ($HOME, else the passwd entry).
std::filesystem::path DefaultCacheDir();
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data);

class AtomicFile {
 public:
  // Creates "<dir>/.<name>.tmp.XXXXXX" next to `dest`.
  static Result<AtomicFile> Create(const std::filesystem::path& dest);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();  // removes the temporary unless committed

  int fd() const { return fd_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  Status Write(std::string_view data);
  // fsyncs, closes and renames onto the destination (mode 0644).
  Status Commit();

 private:
  AtomicFile(std::filesystem::path dest, std::filesystem::path temp, int fd)
      : dest_(std::move(dest)), temp_(std::move(temp)), fd_(fd) {}
  std::filesystem::path dest_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// A directory removed (recursively) when the object dies.
class TempDir {
 public:
  static Result<TempDir> Create(std::string_view prefix = "arrow");
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

}  // namespace arrow
