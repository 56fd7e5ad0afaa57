// OCI image-layout vocabulary shared by the .arrow writer and reader: media types, annotation
// keys, descriptor JSON and digest syntax.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace arrow::packer::oci {

inline constexpr char kIndexMediaType[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kLayoutVersion[] = "1.0.0";
inline constexpr char kTitleAnnotation[] = "org.opencontainers.image.title";
inline constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

// {"mediaType":..,"digest":..,"size":..}
inline nlohmann::json Descriptor(const std::string& media_type, const std::string& digest,
                                 uint64_t size) {
  return nlohmann::json{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

// True for "sha256:" + 64 lowercase hex digits (the only form we write or accept).
inline bool IsSha256Digest(const std::string& d) {
  if (d.size() != 71 || d.compare(0, 7, "sha256:") != 0) return false;
  for (size_t i = 7; i < d.size(); ++i) {
    char c = d[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

inline std::string BlobPath(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

}  // namespace arrow::packer::oci
