// Ethernet frames over a stream socket, each prefixed with its length as a 4-byte big-endian
// number: the framing of qemu's `-netdev socket` / `stream` and of passt's "qemu" mode. The
// reader takes whatever bytes arrive and yields whole frames; a length of 0 or above 65550 is
// a protocol error (the peer is broken or hostile). The writer queues frames and flushes them
// without blocking; past `max_queued` bytes new frames are dropped, like a full NIC ring.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::runner::net {

inline constexpr uint32_t kMaxStreamFrame = 65550;

class FrameReader {
 public:
  // Feeds bytes; calls `frame` for each complete frame. An error leaves the reader unusable.
  Status Feed(std::span<const uint8_t> bytes,
              const std::function<void(std::span<const uint8_t>)>& frame);

 private:
  std::vector<uint8_t> buf_;
};

class FrameWriter {
 public:
  explicit FrameWriter(size_t max_queued = 4u << 20) : max_queued_(max_queued) {}
  // Queues one frame; false when it was dropped (queue full or frame too large).
  bool Queue(std::span<const uint8_t> frame);
  bool empty() const { return off_ == buf_.size(); }
  // Writes as much as the non-blocking `fd` takes. Error: the peer is gone.
  Status Flush(int fd);

 private:
  size_t max_queued_;
  std::vector<uint8_t> buf_;
  size_t off_ = 0;
};

}  // namespace arrow::runner::net
