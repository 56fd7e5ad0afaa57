// Registry credentials, found where container users already keep them.
//
// Order: $ARROW_REGISTRY_USERNAME + $ARROW_REGISTRY_PASSWORD (for every registry), then the
// `auths` map of $DOCKER_CONFIG/config.json (default ~/.docker/config.json): an entry's base64
// `auth` (base64 of "user:password") or its `username`/`password` (an `identitytoken` is not
// used, and the lookup says so). Keys match with or without scheme and path, and
// Docker Hub's historical key `https://index.docker.io/v1/` matches docker.io.
// Credential helpers (`credsStore`, `credHelpers`) are not run; when one is configured for the
// registry and nothing else matched, the lookup says so, so the user knows why.
#pragma once

#include <string>

#include "common/result.h"

namespace arrow::registry {

struct Credentials {
  std::string username;
  std::string password;
  std::string source;  // "ARROW_REGISTRY_USERNAME", "/root/.docker/config.json" (for messages)
  std::string note;    // why nothing was found, when empty (e.g. a credential helper is configured)
  bool empty() const { return username.empty() && password.empty(); }
};

// Never fails: a malformed config file is reported in `note` and otherwise ignored.
Credentials FindCredentials(const std::string& registry);

// Parses a docker config.json text for `registry` (exposed for tests).
Credentials CredentialsFromDockerConfig(const std::string& json_text, const std::string& registry,
                                        const std::string& source);

std::string Base64Encode(const std::string& in);
Result<std::string> Base64Decode(const std::string& in);

}  // namespace arrow::registry
