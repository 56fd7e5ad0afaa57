// arrow_registry: publish and fetch .arrow images through the OCI distribution protocol.
//
// Push reads and verifies a local .arrow (packer::ReadArrow), uploads the blobs the registry
// lacks (HEAD first; monolithic POST+PUT, or chunked PATCH above `chunk_size`) and PUTs the
// manifest. Pull fetches the manifest, downloads the blobs missing from a content-addressed
// cache (each streamed to a temporary file while hashed, kept only if the digest matches) and
// re-creates the .arrow tar from them the way packer::WriteArrow writes it, so an arrow pushed
// and pulled back is byte-identical (see PullOptions). Nothing here exits or prints except the
// progress line on a TTY; the CLI maps errors to exit codes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "registry/reference.h"

namespace arrow::registry {

struct ClientOptions {
  // Speak HTTP instead of HTTPS. Loopback registries (localhost, 127.0.0.0/8, [::1]) use HTTP
  // even without it, as Docker treats them as insecure registries by default.
  bool plain_http = false;
  int max_retries = 4;              // extra attempts on 5xx/429 and connection errors
  int backoff_ms = 250;             // first retry delay, doubled per attempt
  uint64_t chunk_size = 16u << 20;  // blobs larger than this are uploaded in PATCH chunks
  uint64_t limit_rate = 0;          // bytes/s per transfer, 0 = unlimited
  bool progress = true;             // a progress line for blobs >= 4 MiB when stderr is a TTY
  bool verbose = false;             // each HTTP request and status on stderr
  std::filesystem::path cache_dir;  // empty: DefaultCacheDir()
  int64_t mtime = 0;                // tar mtime of assembled arrows (SOURCE_DATE_EPOCH rule)
};

struct PushResult {
  std::string reference;        // canonical, as pushed
  std::string manifest_digest;  // "sha256:..."
  int blobs_uploaded = 0;
  int blobs_skipped = 0;  // already in the registry (HEAD hit)
  uint64_t bytes_uploaded = 0;
  uint64_t chunks = 0;  // PATCH requests sent
  double seconds = 0;
};

struct PullResult {
  std::string reference;
  std::string manifest_digest;
  std::filesystem::path path;  // the written .arrow
  int blobs_downloaded = 0;
  int blobs_cached = 0;  // found in the local cache
  uint64_t bytes_downloaded = 0;
  double seconds = 0;
};

struct RemoteImage {
  std::string reference;
  std::string manifest_digest;
  std::string manifest_raw;  // exact bytes served (digest-verified)
  nlohmann::json manifest;
  std::string config_raw;  // the config blob (digest-verified)
  nlohmann::json config;
};

Result<PushResult> Push(const std::filesystem::path& arrow, const Reference& ref,
                        const ClientOptions& o);

// Pulls `ref` through the cache and writes `out` atomically.
Result<PullResult> Pull(const Reference& ref, const std::filesystem::path& out,
                        const ClientOptions& o);

// Manifest and config only; the layers are not fetched.
Result<RemoteImage> InspectRemote(const Reference& ref, const ClientOptions& o);

// For `arrow-run ARG` / `arrow inspect ARG`: an existing file is returned as is (a missing one
// ending in ".arrow" is an error, never a registry lookup); anything else is parsed as a reference
// and pulled into the cache (<cache>/arrows/<manifest hex>.arrow), reusing cached blobs and an
// already assembled arrow. Returns the local .arrow path.
Result<std::filesystem::path> ResolveImage(const std::string& arg, const ClientOptions& o);

}  // namespace arrow::registry
