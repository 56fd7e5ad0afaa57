// Pull, ResolveImage, InspectRemote: registry -> content-addressed cache -> .arrow.
//
// Cache layout (DefaultCacheDir()):
//   blobs/sha256/<hex>      verified blobs, shared by every image (only missing ones are fetched)
//   arrows/<hex>.arrow      assembled arrows, keyed by manifest digest
// Assembly re-creates exactly what packer::WriteArrow writes: sorted blobs (the manifest bytes as
// served), then index.json (one descriptor with artifactType and, as arrow-build sets it, a
// ref.name annotation equal to the config's "version") and oci-layout, all with tar mtime
// `ClientOptions::mtime`. With the same mtime as the build (SOURCE_DATE_EPOCH or 0), a pulled
// arrow is byte-identical to the pushed one.
#include <chrono>
#include <map>

#include "common/file_util.h"
#include "common/sha256.h"
#include "packer/arrow_file.h"
#include "packer/oci.h"
#include "packer/tar_writer.h"
#include "registry/client.h"
#include "registry/manifest.h"
#include "registry/registry.h"

namespace arrow::registry {
namespace fs = std::filesystem;
namespace {

fs::path CacheRoot(const ClientOptions& o) {
  return o.cache_dir.empty() ? DefaultCacheDir() : o.cache_dir;
}

fs::path BlobFile(const fs::path& root, const std::string& digest) {
  return root / "blobs" / "sha256" / digest.substr(7);
}

// Makes sure the verified blob is in the cache; counts what it did.
Status EnsureBlob(Client& client, const fs::path& root, const BlobRef& b, PullResult* r) {
  fs::path path = BlobFile(root, b.digest);
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && fs::file_size(path, ec) == b.size) {
    auto hex = Sha256FileHex(path);
    if (hex.ok() && "sha256:" + *hex == b.digest) {
      r->blobs_cached++;
      return Ok{};
    }
    fs::remove(path, ec);  // corrupt cache entry: fetch it again
  }
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return Err(path.parent_path().string(), ": cannot create cache directory: ", ec.message());
  ARROW_TRY(client.GetBlobToFile(b.digest, b.size, path));
  r->blobs_downloaded++;
  r->bytes_downloaded += b.size;
  return Ok{};
}

Status Assemble(const fs::path& out, const ArrowManifest& m, const nlohmann::json& config,
                const fs::path& root, int64_t mtime) {
  struct Member {
    std::string inline_data;
    BlobRef blob;
    bool from_file = false;
  };
  std::map<std::string, Member> members;  // sorted like WriteArrow's
  for (const BlobRef* b : [&] {
         std::vector<const BlobRef*> v{&m.config};
         for (const auto& l : m.layers) v.push_back(&l);
         return v;
       }())
    members[packer::oci::BlobPath(b->digest)] = Member{"", *b, true};
  members[packer::oci::BlobPath(m.fetched.digest)] = Member{m.fetched.raw, {}, false};

  nlohmann::json mdesc =
      packer::oci::Descriptor(packer::kManifestMediaType, m.fetched.digest, m.fetched.raw.size());
  mdesc["artifactType"] = packer::kArtifactType;
  if (auto v = config.find("version");
      v != config.end() && v->is_string() && !v->get<std::string>().empty())
    mdesc["annotations"] = {{packer::oci::kRefNameAnnotation, v->get<std::string>()}};
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", packer::oci::kIndexMediaType},
                          {"manifests", nlohmann::json::array({std::move(mdesc)})}};
  nlohmann::json layout = {{"imageLayoutVersion", packer::oci::kLayoutVersion}};

  auto tar = packer::TarWriter::Create(out, mtime);
  if (!tar.ok()) return tar.error();
  packer::TarWriter& w = **tar;
  auto fail = [&](const Status& s) { return Err(out.string(), ": ", s.message()); };
  if (auto s = w.AddDirectory("blobs/"); !s.ok()) return fail(s);
  if (auto s = w.AddDirectory("blobs/sha256/"); !s.ok()) return fail(s);
  for (const auto& [name, mem] : members) {
    Status s = mem.from_file ? w.AddFileFrom(name, BlobFile(root, mem.blob.digest), mem.blob.size,
                                             mem.blob.digest.substr(7))
                             : w.AddFile(name, mem.inline_data);
    if (!s.ok()) return fail(s);
  }
  if (auto s = w.AddFile("index.json", index.dump()); !s.ok()) return fail(s);
  if (auto s = w.AddFile("oci-layout", layout.dump()); !s.ok()) return fail(s);
  if (auto s = w.Finish(); !s.ok()) return fail(s);
  return Ok{};
}

Result<nlohmann::json> ParseConfig(const std::string& text, const std::string& what) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Err(what, ": config is not a JSON object");
  return j;
}

// Fetches the blobs `m` needs into the cache and assembles `out` (unless `reuse` and it exists).
Status Materialize(Client& client, const ArrowManifest& m, const fs::path& out,
                   const ClientOptions& o, PullResult* r) {
  fs::path root = CacheRoot(o);
  ARROW_TRY(EnsureBlob(client, root, m.config, r));
  for (const auto& l : m.layers) ARROW_TRY(EnsureBlob(client, root, l, r));
  auto text = ReadFile(BlobFile(root, m.config.digest));
  if (!text.ok()) return text.error();
  auto config = ParseConfig(*text, client.ref().String() + ": config " + m.config.digest);
  if (!config.ok()) return config.error();
  return Assemble(out, m, *config, root, o.mtime);
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Result<PullResult> Pull(const Reference& ref, const fs::path& out, const ClientOptions& o) {
  auto start = std::chrono::steady_clock::now();
  Client client(ref, o, /*push=*/false);
  auto m = FetchArrowManifest(client);
  if (!m.ok()) return m.error();
  PullResult r;
  ARROW_TRY(Materialize(client, *m, out, o, &r));
  r.reference = ref.String();
  r.manifest_digest = m->fetched.digest;
  r.path = out;
  r.seconds = Since(start);
  return r;
}

Result<RemoteImage> InspectRemote(const Reference& ref, const ClientOptions& o) {
  Client client(ref, o, /*push=*/false);
  auto m = FetchArrowManifest(client);
  if (!m.ok()) return m.error();
  auto config = client.GetBlob(m->config.digest, m->config.size);
  if (!config.ok()) return config.error();
  auto cj = ParseConfig(*config, ref.String() + ": config " + m->config.digest);
  if (!cj.ok()) return cj.error();
  RemoteImage img;
  img.reference = ref.String();
  img.manifest_digest = m->fetched.digest;
  img.manifest_raw = m->fetched.raw;
  img.manifest = m->json;
  img.config_raw = std::move(*config);
  img.config = std::move(*cj);
  return img;
}

Result<fs::path> ResolveImage(const std::string& arg, const ClientOptions& o) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) return fs::path(arg);
  if (arg.size() > 6 && arg.compare(arg.size() - 6, 6, ".arrow") == 0)  // meant as a file
    return Err(arg, ": no such file");
  auto ref = ParseReference(arg);
  if (!ref.ok()) return Err(arg, ": no such file, and not an image reference: ", ref.message());
  fs::path arrows = CacheRoot(o) / "arrows";
  if (!ref->digest.empty()) {  // pinned: no network needed once cached
    fs::path cached = arrows / (ref->digest.substr(7) + ".arrow");
    if (fs::is_regular_file(cached, ec)) return cached;
  }
  Client client(*ref, o, /*push=*/false);
  auto m = FetchArrowManifest(client);
  if (!m.ok()) return m.error();
  fs::path out = arrows / (m->fetched.digest.substr(7) + ".arrow");
  if (fs::is_regular_file(out, ec)) return out;
  fs::create_directories(arrows, ec);
  if (ec) return Err(arrows.string(), ": cannot create cache directory: ", ec.message());
  PullResult r;
  ARROW_TRY(Materialize(client, *m, out, o, &r));
  return out;
}

}  // namespace arrow::registry
