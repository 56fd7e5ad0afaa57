// Streaming zstd compression into an atomically committed file (see zstd_writer.h).
#include "packer/zstd_writer.h"

#include <zstd.h>

#include <memory>
#include <thread>

namespace arrow::packer {

Status CheckZstdLevel(int level) {
  if (level < 1 || level > kMaxKernelZstdLevel)
    return Err("zstd level ", std::to_string(level), " is out of range: use 1..",
               std::to_string(kMaxKernelZstdLevel),
               " (higher levels need a window > 8 MiB, which the kernel's decompressor refuses)");
  return Ok{};
}

Result<ZstdFileWriter> ZstdFileWriter::Create(const std::filesystem::path& dest, int level,
                                              int threads) {
  ARROW_TRY(CheckZstdLevel(level));
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  auto file = AtomicFile::Create(dest);
  if (!file.ok()) return file.error();
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return Err(dest.string(), ": cannot create a zstd context");
  ZstdFileWriter w(std::move(file).value(), cctx);
  auto set = [&](ZSTD_cParameter p, int v, const char* what) -> Status {
    size_t r = ZSTD_CCtx_setParameter(cctx, p, v);
    if (ZSTD_isError(r)) return Err(dest.string(), ": zstd ", what, ": ", ZSTD_getErrorName(r));
    return Ok{};
  };
  ARROW_TRY(set(ZSTD_c_compressionLevel, level, "level"));
  ARROW_TRY(set(ZSTD_c_checksumFlag, 1, "checksum"));
  // A libzstd built without threads rejects nbWorkers; fall back to single-threaded.
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, threads)))
    ARROW_TRY(set(ZSTD_c_nbWorkers, 0, "workers"));
  return w;
}

ZstdFileWriter::ZstdFileWriter(AtomicFile file, ZSTD_CCtx_s* cctx)
    : file_(std::move(file)), cctx_(cctx), buf_(ZSTD_CStreamOutSize(), '\0') {}

ZstdFileWriter::ZstdFileWriter(ZstdFileWriter&& o) noexcept
    : file_(std::move(o.file_)), cctx_(o.cctx_), buf_(std::move(o.buf_)), in_(o.in_), out_(o.out_) {
  o.cctx_ = nullptr;
}

ZstdFileWriter::~ZstdFileWriter() { ZSTD_freeCCtx(cctx_); }

Status ZstdFileWriter::Drain(std::string_view data, bool end) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  for (;;) {
    ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
    size_t rem = ZSTD_compressStream2(cctx_, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(rem))
      return Err(file_.temp_path().string(), ": zstd compression failed: ", ZSTD_getErrorName(rem));
    if (out.pos > 0) {
      ARROW_TRY(file_.Write(std::string_view(buf_.data(), out.pos)));
      out_ += out.pos;
    }
    if (end ? rem == 0 : in.pos == in.size) return Ok{};
  }
}

Status ZstdFileWriter::Write(std::string_view data) {
  in_ += data.size();
  return Drain(data, false);
}

Status ZstdFileWriter::Finish() {
  ARROW_TRY(Drain({}, true));
  return file_.Commit();
}

namespace {
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

Result<std::string> ZstdDecompress(const std::string& in, uint64_t max_out) {
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> d(ZSTD_createDCtx());
  if (!d) return Err("out of memory");
  ZSTD_DCtx_setParameter(d.get(), ZSTD_d_windowLogMax, 27);
  std::string out;
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t last = 0;
  while (ib.pos < ib.size) {
    ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
    last = ZSTD_decompressStream(d.get(), &ob, &ib);
    if (ZSTD_isError(last))
      return Err("corrupt zstd data at input offset ", std::to_string(ib.pos), ": ",
                 ZSTD_getErrorName(last));
    if (out.size() + ob.pos > max_out)
      return Err("decompressed size exceeds the limit of ", std::to_string(max_out), " bytes");
    out.append(buf.data(), ob.pos);
    if (ob.pos == 0 && ib.pos == ib.size) break;
  }
  // Flush whatever the decoder still holds for the last frame.
  while (last != 0) {
    ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
    last = ZSTD_decompressStream(d.get(), &ob, &ib);
    if (ZSTD_isError(last)) return Err("corrupt zstd data: ", ZSTD_getErrorName(last));
    if (out.size() + ob.pos > max_out)
      return Err("decompressed size exceeds the limit of ", std::to_string(max_out), " bytes");
    out.append(buf.data(), ob.pos);
    if (ob.pos == 0 && last != 0) return Err("truncated zstd data (frame not finished)");
  }
  return out;
}

}  // namespace arrow::packer
