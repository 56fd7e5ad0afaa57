// TarWriter: a byte-reproducible ustar stream (libarchive) into an AtomicFile.
//
// Every member gets a fixed mtime, uid/gid 0, no user/group names and no atime/ctime, so the
// same members in the same order give the same bytes. The caller is responsible for adding
// members in sorted order. Regular files can be streamed from disk; the streamed bytes are
// hashed and counted so a file that changed since it was digested is caught.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/file_util.h"
#include "common/result.h"

struct archive;

namespace arrow::packer {

class TarWriter {
 public:
  static Result<std::unique_ptr<TarWriter>> Create(const std::filesystem::path& dest, int64_t mtime);
  ~TarWriter();

  Status AddDirectory(const std::string& name);
  Status AddFile(const std::string& name, std::string_view data);
  // Streams `source`; fails unless it has exactly `size` bytes hashing to `sha256_hex`.
  Status AddFileFrom(const std::string& name, const std::filesystem::path& source, uint64_t size,
                     const std::string& sha256_hex);
  // Ends the archive and renames it into place.
  Status Finish();

 private:
  TarWriter(AtomicFile file, int64_t mtime) : file_(std::move(file)), mtime_(mtime) {}
  Status Header(const std::string& name, bool dir, uint64_t size);
  Status Data(const std::string& name, const char* p, size_t n);
  static long WriteCallback(struct archive*, void* self, const void* buf, size_t n);

  AtomicFile file_;
  int64_t mtime_;
  struct archive* a_ = nullptr;
  Status io_status_;
};

}  // namespace arrow::packer
