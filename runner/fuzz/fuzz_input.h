// The fuzz targets' input reader: fixed-size values taken off the front of the fuzzer's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

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
};

}  // namespace arrow::runner::fuzz
