// Image references the way the container tools spell them: `[host[:port]/]path[:tag][@sha256:hex]`.
//
// Rules (those of docker/distribution's reference package, so a reference that works with
// `docker pull` or `skopeo copy docker://` means the same here):
//   * The first path component is a registry host if it contains '.' or ':' or is `localhost`;
//     otherwise the registry is Docker Hub (`docker.io`, API host `registry-1.docker.io`) and a
//     single-component path gets the `library/` prefix (`hello` -> `docker.io/library/hello`).
//     `index.docker.io` is normalised to `docker.io`.
//   * Path components are lowercase `[a-z0-9]+` joined by `.`, `_`, `__` or `-`s.
//   * A tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; without tag or digest the tag is `latest`.
//   * A digest must be `sha256:` + 64 lowercase hex; when both are given the digest wins.
//   * A leading `docker://` (skopeo's transport prefix) is accepted and dropped.
// Loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`) are spoken to in plain HTTP by
// default, as the Docker daemon treats them as insecure by default; see ClientOptions.
#pragma once

#include <string>

#include "common/result.h"

namespace arrow::registry {

struct Reference {
  std::string registry;    // "docker.io", "ghcr.io", "127.0.0.1:5000"
  std::string repository;  // "library/hello", "team/app"
  std::string tag;         // "latest" when neither tag nor digest was given; may be empty
  std::string digest;      // "sha256:<hex>" or empty

  // What to ask the registry for: the digest if there is one, else the tag.
  std::string Target() const { return digest.empty() ? tag : digest; }
  // Host[:port] to connect to ("registry-1.docker.io" for docker.io).
  std::string ApiHost() const;
  // True for localhost, 127.0.0.0/8 and [::1] (any port).
  bool IsLoopback() const;
  // Canonical string: registry/repository[:tag][@digest].
  std::string String() const;
};

Result<Reference> ParseReference(const std::string& text);

}  // namespace arrow::registry
