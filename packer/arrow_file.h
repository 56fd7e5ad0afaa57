// The .arrow file: an OCI image-layout archive (tar of oci-layout, index.json, blobs/sha256/*).
//
// One manifest (artifactType application/vnd.arrow.image.v1) with a config blob
// (application/vnd.arrow.config.v1+json) and its layers: the kernel (a zstd-compressed ELF vmlinux,
// application/vnd.arrow.kernel.v1.elf+zstd, or a bzImage, application/vnd.arrow.kernel.v1),
// the initramfs (application/vnd.arrow.initramfs.v1.cpio+zstd) and, for a large app, its files
// as a read-only EROFS root (application/vnd.arrow.rootfs.v1.erofs). Written reproducibly
// (sorted members, fixed mtime, uid/gid 0) and atomically. Reading verifies every digest and size
// and rejects path traversal, links, oversize members and malformed JSON.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace arrow::packer {

inline constexpr char kArtifactType[] = "application/vnd.arrow.image.v1";
inline constexpr char kConfigMediaType[] = "application/vnd.arrow.config.v1+json";
inline constexpr char kKernelMediaType[] = "application/vnd.arrow.kernel.v1";  // a bzImage
// A stripped ELF vmlinux, zstd-compressed (only as the blob: the VMMs boot it uncompressed).
inline constexpr char kVmlinuxMediaType[] = "application/vnd.arrow.kernel.v1.elf+zstd";
// The most a vmlinux layer may decompress to, for the builder that writes it and the runner that
// reads it alike (a tuned stripped vmlinux is ~14 MB; a distro config's, ~60 MB).
inline constexpr uint64_t kMaxVmlinuxBytes = 256ull << 20;
inline constexpr char kInitramfsMediaType[] = "application/vnd.arrow.initramfs.v1.cpio+zstd";
inline constexpr char kRootfsMediaType[] = "application/vnd.arrow.rootfs.v1.erofs";
inline constexpr char kManifestMediaType[] = "application/vnd.oci.image.manifest.v1+json";

struct LayerInput {
  std::string media_type;
  std::filesystem::path path;  // file holding the blob
  std::string title;           // org.opencontainers.image.title annotation ("vmlinuz", "initramfs.cpio.zst")
};

struct WriteOptions {
  int64_t mtime = 0;           // tar member mtime (SOURCE_DATE_EPOCH or 0)
  std::string ref_name;        // index.json org.opencontainers.image.ref.name ("1.0.0"); may be empty
};

struct Blob {
  std::string media_type;
  std::string digest;          // "sha256:<hex>"
  uint64_t size = 0;
  nlohmann::json annotations;  // may be null
  std::string data;            // the blob's bytes (verified)
};

struct ArrowImage {
  std::string manifest_digest;  // "sha256:<hex>" of the manifest bytes
  std::string manifest_raw;     // exact manifest bytes
  nlohmann::json manifest;
  nlohmann::json index;
  Blob config;                  // config.data is the JSON text
  nlohmann::json config_json;
  std::vector<Blob> layers;     // in manifest order
  const Blob* FindLayer(const std::string& media_type) const;
};

struct ReadLimits {
  uint64_t max_member_bytes = 4ull << 30;  // any single tar member
  uint64_t max_json_bytes = 4u << 20;      // index.json, manifest, config
};

// Writes the archive. `config` is serialized canonically (sorted keys, no spaces).
// Returns the manifest digest.
Result<std::string> WriteArrow(const std::filesystem::path& out, const nlohmann::json& config,
                               const std::vector<LayerInput>& layers, const WriteOptions& options);

Result<ArrowImage> ReadArrow(const std::filesystem::path& path, const ReadLimits& limits = {});
Result<ArrowImage> ReadArrowMemory(const std::string& bytes, const ReadLimits& limits = {});

}  // namespace arrow::packer
