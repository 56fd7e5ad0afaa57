// ZstdFileWriter: streams bytes through a libzstd compression context into an AtomicFile.
//
// The initramfs writer feeds the cpio archive through this as libarchive produces it, so the
// uncompressed archive (tens of MB for a Python image) never sits in memory. Levels above 19 are
// refused: they raise the frame window past 8 MiB, which the kernel's decompressor cannot use.
// Worker threads are always >= 1 so the output does not depend on the machine's core count
// (zstd's multithreaded output is identical for every nbWorkers >= 1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/file_util.h"
#include "common/result.h"

struct ZSTD_CCtx_s;

namespace arrow::packer {

inline constexpr int kMaxKernelZstdLevel = 19;

class ZstdFileWriter {
 public:
  // `threads` <= 0 means the number of cores.
  static Result<ZstdFileWriter> Create(const std::filesystem::path& dest, int level, int threads);
  ZstdFileWriter(ZstdFileWriter&&) noexcept;
  ZstdFileWriter& operator=(ZstdFileWriter&&) = delete;
  ~ZstdFileWriter();

  Status Write(std::string_view data);
  // Ends the frame, then commits the file atomically.
  Status Finish();

  uint64_t bytes_in() const { return in_; }
  uint64_t bytes_out() const { return out_; }

 private:
  ZstdFileWriter(AtomicFile file, ZSTD_CCtx_s* cctx);
  Status Drain(std::string_view data, bool end);

  AtomicFile file_;
  ZSTD_CCtx_s* cctx_ = nullptr;
  std::string buf_;
  uint64_t in_ = 0, out_ = 0;
};

// Decompresses every zstd frame of `in`, refusing output beyond `max_out` bytes (a few input
// bytes can claim gigabytes) and truncated or corrupt frames; errors name the input offset.
Result<std::string> ZstdDecompress(const std::string& in, uint64_t max_out);

// Checks a level against the kernel's limit; the message says what to do.
Status CheckZstdLevel(int level);

}  // namespace arrow::packer
