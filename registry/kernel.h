// Tuned kernels shared through a registry: one OCI artifact per kernel cache key.
//
// `arrow kernel push REPO` publishes a cached kernel as REPO:<key> (key = the 32-hex cache key
// of builder/kernel_build.h, so the tag says exactly which inputs made it):
//   manifest  artifactType application/vnd.arrow.kernel-cache.v1
//   config    application/vnd.arrow.kernel-cache.config.v1+json
//             {"key", "version", "config_digest", "fragments"}
//   layers    the bzImage (application/vnd.arrow.kernel.v1), its final .config
//             (application/vnd.arrow.kernel.config.v1) and the stripped vmlinux, zstd-compressed
//             (application/vnd.arrow.kernel.v1.elf+zstd: the arrow's kernel layer, byte for byte)
// A build with a kernel registry looks its key up there before compiling (FetchKernel); the
// blobs are digest-verified on download, the config must name the key asked for and its
// config_digest must be the .config's, and the builder then checks the kernel against the plan.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/registry.h"

namespace arrow::registry {

inline constexpr char kKernelArtifactType[] = "application/vnd.arrow.kernel-cache.v1";
inline constexpr char kKernelCacheConfigType[] = "application/vnd.arrow.kernel-cache.config.v1+json";
inline constexpr char kKernelConfigLayerType[] = "application/vnd.arrow.kernel.config.v1";

struct KernelMeta {
  std::string key;            // 32 hex
  std::string version;        // "6.1.192"
  std::string config_digest;  // "sha256:..." of the final .config
  std::vector<std::string> fragments;
};

// Publishes bzImage + config + vmlinux.zst as `repo`:<key> ("host/path" without a tag).
Result<PushResult> PushKernel(const std::filesystem::path& bzimage, const std::filesystem::path& vmlinux_zst,
                              const std::filesystem::path& config, const KernelMeta& meta,
                              const std::string& repo, const ClientOptions& o);

// Looks `key` up in `repo`; when present, writes dir/bzImage, dir/config and dir/vmlinux.zst
// (digest-verified) and returns true; false when the registry has no such tag. An unreachable
// registry or a malformed or mismatching artifact is an error naming it.
Result<bool> FetchKernel(const std::string& repo, const std::string& key, const std::filesystem::path& dir,
                         const ClientOptions& o);

}  // namespace arrow::registry
