// ReadArrow: the .arrow OCI image-layout tar back into an ArrowImage, verifying everything.
//
// The archive is untrusted (it may come from a registry). Members are checked as they are read:
// only regular files and directories, no absolute or ".." names, no duplicates, sizes within
// ReadLimits. Then index.json -> manifest -> config and layers are followed by digest, and each
// blob's size and sha256 must match its descriptor. Every error names the archive and the
// member or digest at fault; JSON errors are caught and reported, never thrown.
#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>

#include "common/sha256.h"
#include "packer/archive_error.h"
#include "packer/arrow_file.h"
#include "packer/erofs.h"
#include "packer/oci.h"

namespace arrow::packer {
namespace {

using nlohmann::json;

struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Strips "./" prefixes and a trailing '/'; rejects absolute names and ".." components.
Result<std::string> CleanName(const std::string& raw) {
  std::string n = raw;
  while (n.compare(0, 2, "./") == 0) n.erase(0, 2);
  while (!n.empty() && n.back() == '/') n.pop_back();
  if (raw.empty() || raw[0] == '/') return Err("member '", raw, "': absolute or empty name");
  size_t i = 0;
  while (i <= n.size()) {
    size_t j = n.find('/', i);
    if (j == std::string::npos) j = n.size();
    if (n.compare(i, j - i, "..") == 0 && j - i == 2)
      return Err("member '", raw, "': path traversal ('..') is not allowed");
    i = j + 1;
  }
  return n;
}

Result<std::map<std::string, std::string>> ReadMembers(archive* a, const ReadLimits& limits) {
  std::map<std::string, std::string> files;
  std::map<std::string, bool> seen;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      return Err("bad tar header after ", std::to_string(seen.size()), " members: ",
                 ArchiveError(a));
    }
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) return Err("tar member without a name");
    auto name = CleanName(raw);
    if (!name.ok()) return name.error();
    auto type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e) != nullptr || (type != AE_IFREG && type != AE_IFDIR))
      return Err("member '", raw, "': only regular files and directories are allowed");
    if (!seen.emplace(*name, true).second) return Err("member '", raw, "' appears twice");
    if (type == AE_IFDIR) continue;
    la_int64_t size = archive_entry_size(e);
    if (size < 0 || static_cast<uint64_t>(size) > limits.max_member_bytes)
      return Err("member '", raw, "': size ", std::to_string(size), " exceeds the limit of ",
                 std::to_string(limits.max_member_bytes), " bytes");
    // Only layout files and blobs are kept; anything else is skipped unread.
    if (*name != "oci-layout" && *name != "index.json" && name->compare(0, 13, "blobs/sha256/") != 0)
      continue;
    std::string data;
    std::string buf(1 << 16, '\0');
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0) return Err("member '", raw, "': ", ArchiveError(a));
      if (n == 0) break;
      if (data.size() + static_cast<size_t>(n) > static_cast<uint64_t>(size))
        return Err("member '", raw, "': more data than its header declares");
      data.append(buf.data(), static_cast<size_t>(n));
    }
    if (data.size() != static_cast<uint64_t>(size)) return Err("member '", raw, "': truncated");
    files.emplace(*name, std::move(data));
  }
  return files;
}

class Verifier {
 public:
  Verifier(const std::map<std::string, std::string>& files, const ReadLimits& limits)
      : files_(files), limits_(limits) {}

  // Checks `desc` is a descriptor of `want_type` (if non-empty) and returns the verified blob.
  Result<Blob> Fetch(const json& desc, const std::string& what, const std::string& want_type,
                     bool is_json) {
    auto ref = oci::ParseDescriptor(desc, what);
    if (!ref) return ref.error();
    Blob b;
    b.media_type = ref->media_type;
    b.digest = ref->digest;
    b.size = ref->size;
    if (!want_type.empty() && b.media_type != want_type)
      return Err(what, " ", b.digest, ": media type '", b.media_type, "', expected '", want_type, "'");
    if (is_json && b.size > limits_.max_json_bytes)
      return Err(what, " ", b.digest, ": size ", std::to_string(b.size), " exceeds the JSON limit");
    auto f = files_.find(oci::BlobPath(b.digest));
    if (f == files_.end()) return Err(what, " ", b.digest, ": blob missing from the archive");
    if (f->second.size() != b.size)
      return Err(what, " ", b.digest, ": size is ", std::to_string(f->second.size()),
                 " bytes, descriptor says ", std::to_string(b.size));
    std::string actual = Sha256Digest(f->second);
    if (actual != b.digest)
      return Err(what, " ", b.digest, ": digest mismatch (content hashes to ", actual, ")");
    if (auto an = desc.find("annotations"); an != desc.end()) {
      if (!an->is_object()) return Err(what, " ", b.digest, ": annotations must be an object");
      b.annotations = *an;
    }
    b.data = f->second;
    return b;
  }

 private:
  const std::map<std::string, std::string>& files_;
  const ReadLimits& limits_;
};

Result<json> ParseJson(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Err(what, ": malformed JSON");
  if (!j.is_object()) return Err(what, ": JSON is not an object");
  return j;
}

Status CheckHeader(const json& j, const std::string& what, const char* media_type, bool required) {
  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2)
    return Err(what, ": schemaVersion must be 2");
  auto mt = j.find("mediaType");
  if (mt == j.end()) {
    if (required) return Err(what, ": mediaType missing (expected '", media_type, "')");
    return Ok{};
  }
  if (!mt->is_string() || mt->get<std::string>() != media_type)
    return Err(what, ": mediaType is ", mt->dump(), ", expected '", media_type, "'");
  return Ok{};
}

Result<ArrowImage> Interpret(const std::map<std::string, std::string>& files,
                             const ReadLimits& limits) {
  auto layout_it = files.find("oci-layout");
  if (layout_it == files.end()) return Err("oci-layout missing: not an OCI image layout");
  if (layout_it->second.size() > limits.max_json_bytes) return Err("oci-layout: too large");
  auto layout = ParseJson(layout_it->second, "oci-layout");
  if (!layout.ok()) return layout.error();
  auto lv = layout->find("imageLayoutVersion");
  if (lv == layout->end() || !lv->is_string() || lv->get<std::string>() != oci::kLayoutVersion)
    return Err("oci-layout: imageLayoutVersion must be \"", oci::kLayoutVersion, "\"");

  ArrowImage img;
  auto index_it = files.find("index.json");
  if (index_it == files.end()) return Err("index.json missing");
  if (index_it->second.size() > limits.max_json_bytes) return Err("index.json: too large");
  auto index = ParseJson(index_it->second, "index.json");
  if (!index.ok()) return index.error();
  img.index = *index;
  ARROW_TRY(CheckHeader(img.index, "index.json", oci::kIndexMediaType, false));
  auto manifests = img.index.find("manifests");
  if (manifests == img.index.end() || !manifests->is_array())
    return Err("index.json: manifests must be an array");
  if (manifests->size() != 1)
    return Err("index.json: expected exactly one manifest, found ", std::to_string(manifests->size()));

  Verifier v(files, limits);
  auto mblob = v.Fetch((*manifests)[0], "manifest", kManifestMediaType, true);
  if (!mblob.ok()) return mblob.error();
  img.manifest_digest = mblob->digest;
  img.manifest_raw = mblob->data;
  std::string mwhat = "manifest " + img.manifest_digest;
  auto manifest = ParseJson(img.manifest_raw, mwhat);
  if (!manifest.ok()) return manifest.error();
  img.manifest = *manifest;
  ARROW_TRY(CheckHeader(img.manifest, mwhat, kManifestMediaType, false));
  auto at = img.manifest.find("artifactType");
  if (at == img.manifest.end() || !at->is_string() || at->get<std::string>() != kArtifactType)
    return Err(mwhat, ": artifactType must be '", kArtifactType, "' (not an Arrow image)");
  auto cdesc = img.manifest.find("config");
  if (cdesc == img.manifest.end()) return Err(mwhat, ": config descriptor missing");
  auto config = v.Fetch(*cdesc, "config", kConfigMediaType, true);
  if (!config.ok()) return config.error();
  img.config = std::move(config).value();
  auto cj = ParseJson(img.config.data, "config " + img.config.digest);
  if (!cj.ok()) return cj.error();
  img.config_json = *cj;
  auto layers = img.manifest.find("layers");
  if (layers == img.manifest.end() || !layers->is_array())
    return Err(mwhat, ": layers must be an array");
  for (size_t i = 0; i < layers->size(); ++i) {
    auto layer = v.Fetch((*layers)[i], "layer " + std::to_string(i), "", false);
    if (!layer.ok()) return layer.error();
    if (layer->media_type == kRootfsMediaType) {  // a disk the guest will mount: check it
      if (layer->data.size() % 512)
        return Err("layer ", std::to_string(i), " (EROFS root): ", std::to_string(layer->data.size()),
                   " bytes is not a whole number of 512-byte sectors");
      if (auto info = InspectErofs(layer->data); !info)
        return Err("layer ", std::to_string(i), " (EROFS root): ", info.message());
    }
    img.layers.push_back(std::move(layer).value());
  }
  return img;
}

Result<ArrowImage> ReadOpened(archive* a, const ReadLimits& limits) {
  auto files = ReadMembers(a, limits);
  if (!files.ok()) return files.error();
  try {
    return Interpret(*files, limits);
  } catch (const json::exception& e) {
    return Err("malformed OCI JSON: ", e.what());
  }
}

std::unique_ptr<archive, ReadDeleter> NewTarReader() {
  std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
  if (a) {
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_none(a.get());
  }
  return a;
}

}  // namespace

Result<ArrowImage> ReadArrowMemory(const std::string& bytes, const ReadLimits& limits) {
  auto a = NewTarReader();
  if (!a) return Err("<memory>: out of memory");
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
    return Err("<memory>: not a tar archive: ", ArchiveError(a.get()));
  auto r = ReadOpened(a.get(), limits);
  if (!r.ok()) return Err("<memory>: ", r.message());
  return r;
}

Result<ArrowImage> ReadArrow(const std::filesystem::path& path, const ReadLimits& limits) {
  auto a = NewTarReader();
  if (!a) return Err(path.string(), ": out of memory");
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return Err(path.string(), ": cannot open: ", ArchiveError(a.get()));
  auto r = ReadOpened(a.get(), limits);
  if (!r.ok()) return Err(path.string(), ": ", r.message());
  return r;
}

}  // namespace arrow::packer
