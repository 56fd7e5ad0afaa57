// A split virtqueue (virtio 1.1 §2.6) read and written in guest memory on the device's side.
//
// Everything in the rings is guest-controlled. Activate() checks that the three rings lie in
// RAM at the alignment the spec demands and caches their host addresses; Pop() walks one
// descriptor chain with every address and length going through GuestMemory::Slice, the chain
// length bounded by the queue size (a loop is an error, not a hang), write-only descriptors
// only after read-only ones, no zero-length or indirect descriptors (the feature is not
// offered) and a total length cap the device chooses. Any violation is a device error: the
// transport then sets NEEDS_RESET and stops using the queue — the host never crashes or
// touches memory outside the guest's RAM. Index arithmetic is modulo 2^16 as the spec says.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"
#include "runner/vstate/memory.h"

namespace arrow::runner::virtio {

inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;

// One chain the driver made available: the device reads `readable` and writes `writable`.
struct Chain {
  uint16_t head = 0;
  std::vector<std::span<uint8_t>> readable, writable;
  uint64_t readable_len = 0, writable_len = 0;

  // Copies the readable bytes from offset `skip` on into `out` (replacing its contents).
  void ReadInto(std::vector<uint8_t>& out, size_t skip = 0) const;
  // Copies `src` into the writable bytes starting at `offset`; returns the bytes written
  // (less than src.size() when the chain is too short).
  size_t WriteAt(size_t offset, std::span<const uint8_t> src) const;
};

class Queue {
 public:
  explicit Queue(uint16_t max_size) : max_size_(max_size) {}

  // Driver-visible configuration, set through the transport's registers.
  uint16_t max_size() const { return max_size_; }
  uint16_t size = 0;
  bool ready = false;
  uint64_t desc_addr = 0, avail_addr = 0, used_addr = 0;

  // Checks size and ring placement; on success the queue can be used.
  Status Activate(GuestMemory& mem);
  bool active() const { return active_; }
  // Back to the state after a device reset.
  void Reset();

  // The next available chain, nothing when the driver has made none available, or an error
  // when the ring or the chain is malformed. `max_len` caps readable + writable bytes.
  Result<std::optional<Chain>> Pop(GuestMemory& mem, uint64_t max_len);
  // Returns chain `head` to the driver with `len` bytes written into it.
  void PushUsed(uint16_t head, uint32_t len);
  // Puts the last popped chain back (the device could not use it yet).
  void Undo() { next_avail_--; }
  // True when the driver has chains available that were not popped yet.
  bool HasAvailable() const;

 private:
  uint16_t AvailIdx() const;
  uint16_t max_size_;
  bool active_ = false;
  uint16_t next_avail_ = 0, next_used_ = 0;
  std::span<uint8_t> desc_, avail_, used_;
};

}  // namespace arrow::runner::virtio
