// libFuzzer target: everything Arrow parses from a registry or the user before any network I/O
// is trusted: the manifest check, WWW-Authenticate challenges, token replies, registry error
// bodies and image references. Each must return a value or an error, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/sha256.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/manifest.h"
#include "registry/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  arrow::registry::FetchedManifest m{s, "application/vnd.oci.image.manifest.v1+json",
                                     arrow::Sha256Digest(s)};
  (void)arrow::registry::CheckArrowManifest(m, "fuzz");
  for (const auto& c : arrow::registry::ParseChallenges(s)) (void)c.Param("realm");
  (void)arrow::registry::ParseTokenReply(s);
  (void)arrow::registry::RegistryErrorDetail(s);
  auto r = arrow::registry::ParseReference(s);
  if (r.ok()) (void)r->String();
  return 0;
}
