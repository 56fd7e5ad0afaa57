// WriteArrow: the .arrow OCI image-layout tar (see arrow_file.h).
//
// Layer files are digested first (one streaming pass each), then the manifest and index are
// built, and finally every member is written in sorted order, layers streamed from disk a second
// time and re-verified. JSON is dumped compactly with sorted keys so the bytes are canonical.
#include "packer/arrow_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "common/sha256.h"
#include "packer/oci.h"
#include "packer/tar_writer.h"

namespace arrow::packer {
namespace {

struct Digested {
  std::string hex;
  uint64_t size = 0;
};

Result<Digested> DigestFile(const std::filesystem::path& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(path.string(), ": cannot open layer: ", std::strerror(errno));
  Sha256 hash;
  Digested d;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return Err(path.string(), ": cannot read layer: ", std::strerror(e));
    }
    if (n == 0) break;
    hash.Update(buf.data(), static_cast<size_t>(n));
    d.size += static_cast<uint64_t>(n);
  }
  close(fd);
  d.hex = hash.FinalHex();
  return d;
}

// A member to write: inline bytes or a file streamed from disk.
struct Member {
  std::string data;
  std::filesystem::path source;
  Digested digest;
};

}  // namespace

const Blob* ArrowImage::FindLayer(const std::string& media_type) const {
  for (const Blob& b : layers)
    if (b.media_type == media_type) return &b;
  return nullptr;
}

namespace {

Result<std::string> WriteArrowImpl(const std::filesystem::path& out, const nlohmann::json& config,
                                   const std::vector<LayerInput>& layers,
                                   const WriteOptions& options) {
  if (!config.is_object()) return Err(out.string(), ": the config must be a JSON object");
  std::map<std::string, Member> blobs;  // member name -> content, sorted
  auto add_json = [&](const std::string& text) {
    std::string digest = Sha256Digest(text);
    Member m;
    m.data = text;
    m.digest.hex = digest.substr(7);
    m.digest.size = text.size();
    blobs[oci::BlobPath(digest)] = std::move(m);
    return digest;
  };

  std::string config_text = config.dump();
  std::string config_digest = add_json(config_text);
  nlohmann::json layer_descs = nlohmann::json::array();
  for (const LayerInput& l : layers) {
    if (l.media_type.empty()) return Err(l.path.string(), ": layer has no media type");
    auto d = DigestFile(l.path);
    if (!d.ok()) return Err(out.string(), ": ", d.message());
    std::string digest = "sha256:" + d->hex;
    nlohmann::json desc = oci::Descriptor(l.media_type, digest, d->size);
    if (!l.title.empty()) desc["annotations"] = {{oci::kTitleAnnotation, l.title}};
    layer_descs.push_back(std::move(desc));
    Member m;
    m.source = l.path;
    m.digest = *d;
    blobs[oci::BlobPath(digest)] = std::move(m);
  }
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kManifestMediaType},
      {"artifactType", kArtifactType},
      {"config", oci::Descriptor(kConfigMediaType, config_digest, config_text.size())},
      {"layers", std::move(layer_descs)},
  };
  std::string manifest_text = manifest.dump();
  std::string manifest_digest = add_json(manifest_text);

  nlohmann::json mdesc = oci::Descriptor(kManifestMediaType, manifest_digest, manifest_text.size());
  mdesc["artifactType"] = kArtifactType;
  if (!options.ref_name.empty())
    mdesc["annotations"] = {{oci::kRefNameAnnotation, options.ref_name}};
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", oci::kIndexMediaType},
                          {"manifests", nlohmann::json::array({std::move(mdesc)})}};
  nlohmann::json layout = {{"imageLayoutVersion", oci::kLayoutVersion}};

  auto tar = TarWriter::Create(out, options.mtime);
  if (!tar.ok()) return tar.error();
  TarWriter& w = **tar;
  auto fail = [&](const Status& s) { return Err(out.string(), ": ", s.message()); };
  // Sorted: "blobs/" < "blobs/sha256/" < "blobs/sha256/<hex>"... < "index.json" < "oci-layout".
  if (auto s = w.AddDirectory("blobs/"); !s.ok()) return fail(s);
  if (auto s = w.AddDirectory("blobs/sha256/"); !s.ok()) return fail(s);
  for (const auto& [name, m] : blobs) {
    Status s = m.source.empty() ? w.AddFile(name, m.data)
                                : w.AddFileFrom(name, m.source, m.digest.size, m.digest.hex);
    if (!s.ok()) return fail(s);
  }
  if (auto s = w.AddFile("index.json", index.dump()); !s.ok()) return fail(s);
  if (auto s = w.AddFile("oci-layout", layout.dump()); !s.ok()) return fail(s);
  if (auto s = w.Finish(); !s.ok()) return fail(s);
  return manifest_digest;
}

}  // namespace

Result<std::string> WriteArrow(const std::filesystem::path& out, const nlohmann::json& config,
                               const std::vector<LayerInput>& layers, const WriteOptions& options) {
  try {
    return WriteArrowImpl(out, config, layers, options);
  } catch (const nlohmann::json::exception& e) {  // dump() of invalid UTF-8, for one
    return Err(out.string(), ": cannot serialize JSON: ", e.what());
  }
}

}  // namespace arrow::packer
