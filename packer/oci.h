// OCI image-layout vocabulary shared by the .arrow writer and reader: media types, annotation
// keys, descriptor JSON and digest syntax.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

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

// A descriptor as read from untrusted JSON (an archive's or a registry's).
struct DescriptorRef {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
};

// Checks that `d` is {"mediaType": string, "digest": "sha256:<hex>", "size": unsigned}; `what`
// names it in messages ("manifest", "layer 0").
inline Result<DescriptorRef> ParseDescriptor(const nlohmann::json& d, const std::string& what) {
  if (!d.is_object()) return Err(what, ": descriptor is not an object");
  auto mt = d.find("mediaType");
  auto dg = d.find("digest");
  auto sz = d.find("size");
  if (mt == d.end() || !mt->is_string()) return Err(what, ": descriptor lacks mediaType");
  if (dg == d.end() || !dg->is_string()) return Err(what, ": descriptor lacks digest");
  if (sz == d.end() || !sz->is_number_unsigned())
    return Err(what, ": descriptor lacks a non-negative integer size");
  DescriptorRef r{mt->get<std::string>(), dg->get<std::string>(), sz->get<uint64_t>()};
  if (!IsSha256Digest(r.digest))
    return Err(what, ": unsupported digest '", r.digest, "' (need sha256:<64 hex>)");
  return r;
}

inline std::string BlobPath(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

}  // namespace arrow::packer::oci
