// Client: the OCI distribution API for one repository (GET /v2/, blobs, uploads, manifests).
//
// It owns the retry policy (idempotent requests retried on connection errors, 5xx and 429 with
// doubling backoff, bounded by ClientOptions::max_retries), authentication (a 401 answered once
// per request with Basic credentials or a Bearer token fetched from the challenge's realm) and
// the error messages: every failure names the registry and repository, the HTTP status, the
// registry's own error code, and what the user can do about it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "registry/credentials.h"
#include "registry/http.h"
#include "registry/reference.h"
#include "registry/registry.h"

namespace arrow::registry {

inline constexpr char kManifestAccept[] =
    "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct FetchedManifest {
  std::string raw;
  std::string media_type;  // Content-Type of the reply
  std::string digest;      // sha256 of raw (verified against the request and Docker-Content-Digest)
};

class Client {
 public:
  // `push`: ask for push scope as well as pull when a token is needed.
  Client(Reference ref, const ClientOptions& options, bool push);

  Status Ping();
  Result<bool> BlobExists(const std::string& digest);
  // Uploads `data` (whose digest is `digest`); whole-blob retries on retryable failures.
  Status UploadBlob(std::string_view data, const std::string& digest, PushResult* stats);
  // HEAD first: uploads the blob only when the registry lacks it, counting it in `stats` as
  // uploaded or skipped.
  Status UploadIfMissing(std::string_view data, const std::string& digest, PushResult* stats);
  // PUTs the manifest under `target` (tag or digest); returns the digest the registry reports.
  Result<std::string> PutManifest(const std::string& target, std::string_view raw,
                                  const std::string& media_type);
  Result<FetchedManifest> GetManifest(const std::string& target);
  // The same, but a 404 (no such tag or digest) is nullopt instead of an error.
  Result<std::optional<FetchedManifest>> FindManifest(const std::string& target);
  // A small blob (config) into memory, size- and digest-checked.
  Result<std::string> GetBlob(const std::string& digest, uint64_t size);
  // A blob streamed to `dest` via a temporary file, renamed only when size and digest match.
  Status GetBlobToFile(const std::string& digest, uint64_t size, const std::filesystem::path& dest);

  const Reference& ref() const { return ref_; }
  std::string Where() const;  // "registry 127.0.0.1:5000, repository app"

 private:
  struct Sent {
    Result<HttpResponse> response;
    bool retryable = false;  // for callers that retry at a higher level
  };
  Sent Send(HttpRequest req, bool idempotent, const std::function<void()>& on_retry = {});
  Status Authenticate(const HttpResponse& unauthorized);
  // `retried`: the request was idempotent, so a 5xx/429 already used every attempt.
  Status StatusError(const HttpResponse& r, const std::string& what, bool retried = true) const;
  Status UploadOnce(std::string_view data, const std::string& digest, PushResult* stats,
                    bool* retryable);
  std::string Url(const std::string& path) const;
  std::string ResolveLocation(const std::string& location) const;
  void Backoff(int attempt) const;

  Reference ref_;
  ClientOptions options_;
  bool push_;
  std::string base_;         // "http://127.0.0.1:5000"
  std::string auth_header_;  // "Authorization: ..." or empty
  bool creds_loaded_ = false;
  Credentials creds_;
  std::unique_ptr<Transport> transport_;
};

// "CODE: message" from a registry error body ({"errors":[{"code":..,"message":..}]}), or "".
std::string RegistryErrorDetail(const std::string& body);

// What the user reads when a request ends with an HTTP error status.
struct ErrorContext {
  std::string what;   // "GET manifest 1"
  std::string where;  // "registry r:5000, repository app"
  std::string registry, repository;
  std::string creds_source;  // where the credentials came from; empty = anonymous
  bool push = false;
  int attempts = 1;  // how many times the request was sent
};
Status HttpStatusError(const HttpResponse& r, const ErrorContext& c);

}  // namespace arrow::registry
