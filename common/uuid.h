// A 16-byte UUID as it appears in filesystem superblocks (ext4, EROFS), printed 8-4-4-4-12.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace arrow {

inline std::string FormatUuid(const uint8_t* u) {
  char s[40];
  snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
           u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return s;
}

}  // namespace arrow
