// Length-prefixed frame stream; see stream.h.
#include "runner/net/stream.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arrow::runner::net {

Status FrameReader::Feed(std::span<const uint8_t> bytes,
                         const std::function<void(std::span<const uint8_t>)>& frame) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  size_t off = 0;
  while (buf_.size() - off >= 4) {
    const uint8_t* p = buf_.data() + off;
    uint32_t len = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    if (len == 0 || len > kMaxStreamFrame)
      return Err("frame stream: a frame of ", std::to_string(len), " bytes (allowed: 1..",
                 std::to_string(kMaxStreamFrame), ")");
    if (buf_.size() - off - 4 < len) break;
    frame({p + 4, len});
    off += 4 + len;
  }
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(off));
  return Ok{};
}

bool FrameWriter::Queue(std::span<const uint8_t> frame) {
  if (frame.empty() || frame.size() > kMaxStreamFrame) return false;
  if (buf_.size() - off_ + frame.size() + 4 > max_queued_) return false;
  if (off_ > 0 && off_ == buf_.size()) {
    buf_.clear();
    off_ = 0;
  }
  const uint32_t n = static_cast<uint32_t>(frame.size());
  const uint8_t len[4] = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                          static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  buf_.insert(buf_.end(), len, len + 4);
  buf_.insert(buf_.end(), frame.begin(), frame.end());
  return true;
}

Status FrameWriter::Flush(int fd) {
  while (off_ < buf_.size()) {
    ssize_t n = write(fd, buf_.data() + off_, buf_.size() - off_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) return Err("frame stream: write: ", std::strerror(errno));
    off_ += static_cast<size_t>(n);
  }
  if (off_ == buf_.size()) {
    buf_.clear();
    off_ = 0;
  } else if (off_ > (1u << 20)) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(off_));
    off_ = 0;
  }
  return Ok{};
}

}  // namespace arrow::runner::net
