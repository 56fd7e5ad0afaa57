// The fuzz targets' input reader: fixed-size values taken off the front of the fuzzer's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "runner/vstate/memory.h"

namespace arrow::runner::fuzz {

struct Input {
  const uint8_t* p;
  size_t n;
  // Copies the next k bytes into out; false (nothing taken) when fewer are left.
  bool Take(void* out, size_t k) {
    if (n < k) return false;
    std::memcpy(out, p, k);
    p += k;
    n -= k;
    return true;
  }
  // A guest memory write: a 4-byte address (modulo `span`), a length byte, that many bytes.
  // False when the input ran out.
  bool WriteGuest(GuestMemory& mem, uint32_t span) {
    uint32_t addr;
    uint8_t len;
    if (!Take(&addr, 4) || !Take(&len, 1) || n < len) return false;
    (void)mem.Write(addr % span, std::string_view(reinterpret_cast<const char*>(p), len));
    p += len;
    n -= len;
    return true;
  }
};

}  // namespace arrow::runner::fuzz
