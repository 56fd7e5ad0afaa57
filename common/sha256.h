// SHA-256 digests (OpenSSL libcrypto) in the "sha256:<hex>" form OCI uses everywhere.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace arrow {

// Incremental hasher; Final() returns lowercase hex (64 chars).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  std::string FinalHex();

 private:
  void* ctx_;
};

std::string Sha256Hex(std::string_view data);
// "sha256:" + hex.
std::string Sha256Digest(std::string_view data);
Result<std::string> Sha256FileHex(const std::filesystem::path& path);

}  // namespace arrow
