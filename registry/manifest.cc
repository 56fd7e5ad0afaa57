// CheckArrowManifest / FetchArrowManifest (see manifest.h).
#include "registry/manifest.h"

#include "packer/arrow_file.h"
#include "packer/oci.h"

namespace arrow::registry {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxJsonBlob = 4u << 20;  // config (packer::ReadLimits::max_json_bytes)
constexpr uint64_t kMaxLayer = 4ull << 30;   // any layer (packer::ReadLimits::max_member_bytes)
constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
constexpr char kDockerList[] = "application/vnd.docker.distribution.manifest.list.v2+json";

Result<BlobRef> ParseDescriptor(const json& d, const std::string& what) {
  return packer::oci::ParseDescriptor(d, what);
}

Result<json> ParseObject(const std::string& raw, const std::string& what) {
  json j = json::parse(raw, nullptr, false);
  if (j.is_discarded()) return Err(what, ": malformed JSON from the registry");
  if (!j.is_object()) return Err(what, ": JSON is not an object");
  return j;
}

bool IsIndex(const FetchedManifest& m, const json& j) {
  std::string mt = j.value("mediaType", m.media_type);
  return mt == packer::oci::kIndexMediaType || mt == kDockerList;
}

Result<ArrowManifest> CheckImpl(FetchedManifest fetched, const std::string& what) {
  auto j = ParseObject(fetched.raw, what);
  if (!j.ok()) return j.error();
  ArrowManifest m;
  m.json = std::move(*j);
  auto sv = m.json.find("schemaVersion");
  if (sv == m.json.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2)
    return Err(what, ": schemaVersion must be 2");
  std::string mt = m.json.value("mediaType", fetched.media_type);
  if (mt == kDockerManifest) return Err(what, ": a Docker container image, not an Arrow image");
  if (mt != packer::kManifestMediaType)
    return Err(what, ": media type '", mt, "', expected '", packer::kManifestMediaType, "'");
  if (m.json.value("artifactType", "") != packer::kArtifactType) {
    auto cfg = m.json.find("config");
    std::string cmt = cfg != m.json.end() && cfg->is_object() ? cfg->value("mediaType", "") : "";
    return Err(what, ": not an Arrow image (artifactType '", m.json.value("artifactType", ""),
               "', config media type '", cmt, "'; expected artifactType '", packer::kArtifactType,
               "')");
  }
  auto cfg = m.json.find("config");
  if (cfg == m.json.end()) return Err(what, ": config descriptor missing");
  auto config = ParseDescriptor(*cfg, what + " config");
  if (!config.ok()) return config.error();
  if (config->media_type != packer::kConfigMediaType)
    return Err(what, ": config media type '", config->media_type, "', expected '",
               packer::kConfigMediaType, "'");
  if (config->size > kMaxJsonBlob)
    return Err(what, ": config size ", std::to_string(config->size), " exceeds the JSON limit");
  m.config = *config;
  auto layers = m.json.find("layers");
  if (layers == m.json.end() || !layers->is_array()) return Err(what, ": layers must be an array");
  for (size_t i = 0; i < layers->size(); ++i) {
    auto l = ParseDescriptor((*layers)[i], what + " layer " + std::to_string(i));
    if (!l.ok()) return l.error();
    if (l->size > kMaxLayer)
      return Err(what, " layer ", std::to_string(i), ": size ", std::to_string(l->size),
                 " exceeds the limit");
    m.layers.push_back(*l);
  }
  m.fetched = std::move(fetched);
  return m;
}

}  // namespace

Result<ArrowManifest> CheckArrowManifest(FetchedManifest fetched, const std::string& what) {
  try {
    return CheckImpl(std::move(fetched), what);
  } catch (const json::exception& e) {
    return Err(what, ": malformed manifest: ", e.what());
  }
}

Result<ArrowManifest> FetchArrowManifest(Client& client) {
  const Reference& ref = client.ref();
  auto m = client.GetManifest(ref.Target());
  if (!m.ok()) return m.error();
  std::string what = ref.String() + ": manifest " + m->digest;
  try {
    auto j = ParseObject(m->raw, what);
    if (!j.ok()) return j.error();
    if (IsIndex(*m, *j)) {
      auto list = j->find("manifests");
      if (list == j->end() || !list->is_array() || list->empty())
        return Err(what, ": image index without manifests");
      const json* pick = list->size() == 1 ? &(*list)[0] : nullptr;
      for (const auto& d : *list)
        if (d.is_object() && d.value("artifactType", "") == packer::kArtifactType) pick = &d;
      if (!pick)
        return Err(what, ": image index has no manifest with artifactType ", packer::kArtifactType);
      auto d = ParseDescriptor(*pick, what + " entry");
      if (!d.ok()) return d.error();
      m = client.GetManifest(d->digest);
      if (!m.ok()) return m.error();
      what = ref.String() + ": manifest " + m->digest;
    }
  } catch (const json::exception& e) {
    return Err(what, ": malformed manifest: ", e.what());
  }
  return CheckArrowManifest(std::move(*m), what);
}

}  // namespace arrow::registry
