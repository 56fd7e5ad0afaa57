// Kernel artifacts in a registry; see kernel.h.
#include "registry/kernel.h"

#include <chrono>
#include <regex>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/sha256.h"
#include "packer/arrow_file.h"
#include "packer/oci.h"
#include "registry/client.h"

namespace arrow::registry {
namespace {

Result<Reference> KernelRef(const std::string& repo, const std::string& key) {
  if (!std::regex_match(key, std::regex("[0-9a-f]{32}"))) return Err("not a kernel cache key: '", key, "'");
  if (repo.find('@') != std::string::npos || repo.rfind(':') > repo.rfind('/'))
    return Err("kernel registry '", repo, "': give a repository without a tag (the tag is the kernel's key)");
  return ParseReference(repo + ":" + key);
}

nlohmann::json Descriptor(const std::string& media_type, const std::string& data) {
  return {{"mediaType", media_type}, {"digest", Sha256Digest(data)}, {"size", data.size()}};
}

}  // namespace

Result<PushResult> PushKernel(const std::filesystem::path& bzimage, const std::filesystem::path& vmlinux_zst,
                              const std::filesystem::path& config, const KernelMeta& meta,
                              const std::string& repo, const ClientOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  auto ref = KernelRef(repo, meta.key);
  if (!ref.ok()) return ref.error();
  auto kernel = ReadFile(bzimage);
  if (!kernel.ok()) return kernel.error();
  if (vmlinux_zst.empty())
    return Err(bzimage.parent_path().string(), ": the cache entry has no vmlinux.zst (made by an older arrow-build)");
  auto vmlinux = ReadFile(vmlinux_zst);
  if (!vmlinux.ok()) return vmlinux.error();
  auto cfg = ReadFile(config);
  if (!cfg.ok()) return cfg.error();
  if (Sha256Digest(*cfg) != meta.config_digest)
    return Err(config.string(), ": does not match the cache entry's config digest ", meta.config_digest);
  const std::string config_blob = nlohmann::json{{"key", meta.key}, {"version", meta.version},
                                                 {"config_digest", meta.config_digest},
                                                 {"fragments", meta.fragments}}.dump();
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", packer::kManifestMediaType},
      {"artifactType", kKernelArtifactType},
      {"config", Descriptor(kKernelCacheConfigType, config_blob)},
      {"layers", {Descriptor(packer::kKernelMediaType, *kernel), Descriptor(kKernelConfigLayerType, *cfg),
                  Descriptor(packer::kVmlinuxMediaType, *vmlinux)}},
  };
  Client client(*ref, o, /*push=*/true);
  ARROW_TRY(client.Ping());
  PushResult result;
  const std::string* blobs[] = {&config_blob, &*kernel, &*cfg, &*vmlinux};
  for (const std::string* blob : blobs) ARROW_TRY(client.UploadIfMissing(*blob, Sha256Digest(*blob), &result));
  auto digest = client.PutManifest(ref->tag, manifest.dump(), packer::kManifestMediaType);
  if (!digest.ok()) return digest.error();
  result.reference = ref->String();
  result.manifest_digest = *digest;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

Result<bool> FetchKernel(const std::string& repo, const std::string& key, const std::filesystem::path& dir,
                         const ClientOptions& o) {
  auto ref = KernelRef(repo, key);
  if (!ref.ok()) return ref.error();
  Client client(*ref, o, /*push=*/false);
  auto found = client.FindManifest(key);
  if (!found.ok()) return found.error();
  if (!*found) return false;
  const std::string what = client.Where() + ", kernel " + key;
  auto m = nlohmann::json::parse((*found)->raw, nullptr, /*allow_exceptions=*/false);
  if (!m.is_object() || m.value("artifactType", "") != kKernelArtifactType || !m.contains("config") ||
      !m.contains("layers") || !m["layers"].is_array() || m["layers"].size() != 3)
    return Err(what, ": not an Arrow kernel artifact (artifactType ", kKernelArtifactType,
               ", three layers: bzImage, .config, vmlinux)");
  auto config = packer::oci::ParseDescriptor(m["config"], what + " config");
  auto kernel = packer::oci::ParseDescriptor(m["layers"][0], what + " kernel layer");
  auto cfg = packer::oci::ParseDescriptor(m["layers"][1], what + " .config layer");
  auto vmlinux = packer::oci::ParseDescriptor(m["layers"][2], what + " vmlinux layer");
  if (!config.ok()) return config.error();
  if (!kernel.ok()) return kernel.error();
  if (!cfg.ok()) return cfg.error();
  if (!vmlinux.ok()) return vmlinux.error();
  if (config->media_type != kKernelCacheConfigType || kernel->media_type != packer::kKernelMediaType ||
      cfg->media_type != kKernelConfigLayerType || vmlinux->media_type != packer::kVmlinuxMediaType)
    return Err(what, ": unexpected media types");
  if (config->size > (1u << 20) || kernel->size > (256u << 20) || cfg->size > (16u << 20) ||
      vmlinux->size > (256u << 20))
    return Err(what, ": a blob is larger than a kernel artifact's may be");
  auto meta_raw = client.GetBlob(config->digest, config->size);
  if (!meta_raw.ok()) return meta_raw.error();
  auto meta = nlohmann::json::parse(*meta_raw, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object() || meta.value("key", "") != key)
    return Err(what, ": its config names kernel '", meta.is_object() ? meta.value("key", "") : std::string("?"),
               "', not the key asked for");
  if (meta.value("config_digest", "") != cfg->digest)
    return Err(what, ": its config_digest does not match its .config layer");
  ARROW_TRY(client.GetBlobToFile(kernel->digest, kernel->size, dir / "bzImage"));
  ARROW_TRY(client.GetBlobToFile(cfg->digest, cfg->size, dir / "config"));
  ARROW_TRY(client.GetBlobToFile(vmlinux->digest, vmlinux->size, dir / "vmlinux.zst"));
  return true;
}

}  // namespace arrow::registry
