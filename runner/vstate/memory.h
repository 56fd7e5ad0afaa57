// Guest RAM and the one bounds-checked way to touch it.
//
// RAM is an anonymous private mapping split in up to two KVM memory slots around the 32-bit MMIO
// hole (layout.h): [0, min(size, hole)) and [4 GiB, ...). Every access by guest-physical address,
// whether it comes from the loader or from a value the guest controls, goes through Slice(),
// which checks overflow and that the whole range lies inside one slot.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace arrow::runner {

struct MemoryRegion {
  uint64_t guest_addr = 0;
  uint64_t size = 0;
  uint8_t* host = nullptr;
};

class GuestMemory {
 public:
  // Maps `size` bytes of RAM (a multiple of 4 KiB, at least 1 MiB).
  static Result<GuestMemory> Create(uint64_t size);
  GuestMemory(GuestMemory&& o) noexcept;
  GuestMemory& operator=(GuestMemory&&) = delete;
  ~GuestMemory();

  uint64_t size() const { return size_; }
  // End of RAM below the MMIO hole.
  uint64_t low_end() const { return regions_.empty() ? 0 : regions_[0].size; }
  const std::vector<MemoryRegion>& regions() const { return regions_; }

  // The host bytes of [gpa, gpa+len), or an error naming the address when any part is outside
  // RAM (or the sum overflows).
  Result<std::span<uint8_t>> Slice(uint64_t gpa, uint64_t len);
  Status Write(uint64_t gpa, std::string_view bytes);
  Status Zero(uint64_t gpa, uint64_t len);
  template <typename T>
  Status WriteObj(uint64_t gpa, const T& v) {
    return Write(gpa, std::string_view(reinterpret_cast<const char*>(&v), sizeof v));
  }

 private:
  GuestMemory(uint8_t* base, uint64_t map_size, uint64_t size, std::vector<MemoryRegion> r)
      : base_(base), map_size_(map_size), size_(size), regions_(std::move(r)) {}
  uint8_t* base_ = nullptr;
  uint64_t map_size_ = 0;
  uint64_t size_ = 0;
  std::vector<MemoryRegion> regions_;
};

// Lower-case hex without prefix, for messages.
std::string Hex(uint64_t v);

// a + b without wrapping; false on overflow.
inline bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// The one bounds check for guest-controlled offsets and lengths: [off, off+len) of `area`, or
// an error when it overflows or leaves the area. GuestMemory::Slice and the vCPU's kvm_run I/O
// data (string I/O counts, MMIO lengths) both go through it.
Result<std::span<uint8_t>> CheckedSpan(std::span<uint8_t> area, uint64_t off, uint64_t len,
                                       const char* what);

}  // namespace arrow::runner
