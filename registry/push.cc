// Push: a local .arrow to a registry. The archive is read and fully verified first (a corrupt
// arrow is never published), then config and layers go up unless a HEAD says the registry has
// them, and the manifest is PUT last, so a tag never points at missing blobs.
#include <chrono>

#include "packer/arrow_file.h"
#include "registry/client.h"
#include "registry/registry.h"

namespace arrow::registry {

Result<PushResult> Push(const std::filesystem::path& arrow, const Reference& ref,
                        const ClientOptions& o) {
  auto start = std::chrono::steady_clock::now();
  auto img = packer::ReadArrow(arrow);
  if (!img.ok()) return Err("cannot push: ", img.message());
  Client client(ref, o, /*push=*/true);
  ARROW_TRY(client.Ping());
  PushResult result;
  std::vector<const packer::Blob*> blobs;
  for (const auto& l : img->layers) blobs.push_back(&l);
  blobs.push_back(&img->config);
  for (const packer::Blob* b : blobs) ARROW_TRY(client.UploadIfMissing(b->data, b->digest, &result));
  std::string target = ref.digest.empty() ? ref.tag : ref.digest;
  if (!ref.digest.empty() && ref.digest != img->manifest_digest)
    return Err("cannot push ", arrow.string(), " as ", ref.String(), ": its manifest digest is ",
               img->manifest_digest, "; push by tag instead");
  auto digest = client.PutManifest(target, img->manifest_raw, packer::kManifestMediaType);
  if (!digest.ok()) return digest.error();
  Reference pushed = ref;
  pushed.digest.clear();
  result.reference = pushed.String();
  result.manifest_digest = *digest;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace arrow::registry
