// The remote side of an Arrow image: the manifest a registry serves, checked before anything
// else is fetched. Registry replies are untrusted: the JSON is parsed without exceptions, every
// descriptor must carry a sha256 digest and a size within limits, and the manifest must be an
// OCI image manifest with Arrow's artifactType and config media type. An image index is
// followed to its Arrow manifest (the one with our artifactType, or the only one).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "packer/oci.h"
#include "registry/client.h"

namespace arrow::registry {

using BlobRef = packer::oci::DescriptorRef;

struct ArrowManifest {
  FetchedManifest fetched;
  nlohmann::json json;
  BlobRef config;
  std::vector<BlobRef> layers;
};

// Checks an already fetched manifest (exposed for tests). `what` names it in errors.
Result<ArrowManifest> CheckArrowManifest(FetchedManifest fetched, const std::string& what);

// GETs `client.ref()`'s manifest (following an index) and checks it.
Result<ArrowManifest> FetchArrowManifest(Client& client);

}  // namespace arrow::registry
