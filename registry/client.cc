// Client: requests, retries, auth and error messages of the distribution API (see client.h).
#include "registry/client.h"

#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/file_util.h"
#include "common/sha256.h"
#include "registry/auth.h"

namespace arrow::registry {
namespace {

constexpr uint64_t kProgressMin = 4u << 20;

bool ShowProgress(const ClientOptions& o, uint64_t size) {
  return o.progress && size >= kProgressMin && isatty(STDERR_FILENO);
}

std::string Short(const std::string& digest) {
  return digest.substr(0, 19);
}

}  // namespace

std::string RegistryErrorDetail(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "";
  auto errs = j.find("errors");
  if (errs == j.end() || !errs->is_array() || errs->empty() || !(*errs)[0].is_object()) return "";
  const auto& e = (*errs)[0];
  std::string code =
      e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
  std::string msg =
      e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
  if (code.empty()) return msg;
  return msg.empty() ? code : code + ": " + msg;
}

Client::Client(Reference ref, const ClientOptions& options, bool push)
    : ref_(std::move(ref)), options_(options), push_(push) {
  bool http = options_.plain_http || ref_.IsLoopback();
  base_ = std::string(http ? "http://" : "https://") + ref_.ApiHost();
  TransportOptions t;
  t.max_recv_speed = options_.limit_rate;
  t.max_send_speed = options_.limit_rate;
  t.verbose = options_.verbose;
  transport_ = std::make_unique<Transport>(t);
}

std::string Client::Where() const {
  return "registry " + ref_.registry + ", repository " + ref_.repository;
}

std::string Client::Url(const std::string& path) const {
  return base_ + "/v2/" + ref_.repository + path;
}

std::string Client::ResolveLocation(const std::string& loc) const {
  if (loc.compare(0, 7, "http://") == 0 || loc.compare(0, 8, "https://") == 0) return loc;
  if (!loc.empty() && loc[0] == '/') return base_ + loc;
  return base_ + "/" + loc;
}

void Client::Backoff(int attempt) const {
  int ms = options_.backoff_ms << std::min(attempt, 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

Client::Sent Client::Send(HttpRequest req, bool idempotent, const std::function<void()>& on_retry) {
  const std::vector<std::string> base_headers = req.headers;
  bool authenticated_once = false;
  for (int attempt = 0;;) {
    req.headers = base_headers;
    if (!auth_header_.empty()) req.headers.push_back(auth_header_);
    TransportError terr;
    auto r = transport_->Perform(req, &terr);
    if (!r.ok()) {
      if (terr.retryable && idempotent && attempt < options_.max_retries) {
        Backoff(attempt++);
        if (on_retry) on_retry();
        continue;
      }
      std::string hint;
      if (terr.tls)
        hint = "; if the registry speaks plain HTTP, use --plain-http";
      else if (terr.retryable)
        hint = "; is the registry running and reachable?";
      int tries = idempotent ? attempt + 1 : 1;
      return {Err("cannot reach ", Where(), " (", req.method, " ", req.url, "): ", terr.message,
                  tries > 1 ? " (after " + std::to_string(tries) + " attempts)" : "", hint),
              terr.retryable};
    }
    if (r->status == 401 && !authenticated_once) {
      authenticated_once = true;
      if (auto s = Authenticate(*r); !s.ok()) return {s.error(), false};
      if (on_retry) on_retry();
      continue;
    }
    bool server_error = r->status >= 500 || r->status == 429;
    if (server_error && idempotent && attempt < options_.max_retries) {
      Backoff(attempt++);
      if (on_retry) on_retry();
      continue;
    }
    return {std::move(r), server_error};
  }
}

Status Client::Authenticate(const HttpResponse& r) {
  if (!creds_loaded_) {
    creds_ = FindCredentials(ref_.registry);
    creds_loaded_ = true;
  }
  std::vector<Challenge> challenges;
  for (const auto& h : r.www_authenticate)
    for (auto& c : ParseChallenges(h)) challenges.push_back(std::move(c));
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && !bearer) bearer = &c;
    if (c.scheme == "basic" && !basic) basic = &c;
  }
  std::string no_creds =
      "no credentials found for " + ref_.registry +
      "; set ARROW_REGISTRY_USERNAME and ARROW_REGISTRY_PASSWORD, or add an "
      "\"auths\" entry for it to ~/.docker/config.json (or $DOCKER_CONFIG/config.json)" +
      (creds_.note.empty() ? "" : " (" + creds_.note + ")");
  std::string basic_value = "Basic " + Base64Encode(creds_.username + ":" + creds_.password);
  if (bearer) {
    std::string realm = bearer->Param("realm");
    if (realm.compare(0, 7, "http://") != 0 && realm.compare(0, 8, "https://") != 0)
      return Err(Where(), ": the registry's Bearer challenge has no usable realm ('", realm, "')");
    std::string scope = bearer->Param("scope");
    if (scope.empty()) scope = "repository:" + ref_.repository + (push_ ? ":pull,push" : ":pull");
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    if (!bearer->Param("service").empty())
      url += "service=" + UrlEscape(bearer->Param("service")) + "&";
    url += "scope=" + UrlEscape(scope);
    HttpRequest t;
    t.url = url;
    if (!creds_.empty()) t.headers.push_back("Authorization: " + basic_value);
    TransportError terr;
    auto tr = transport_->Perform(t, &terr);
    if (!tr.ok())
      return Err("cannot reach the token service ", realm, " of ", ref_.registry, ": ",
                 terr.message);
    if (tr->status == 401 || tr->status == 403) {
      if (creds_.empty())
        return Err(Where(), ": the token service refused anonymous access (HTTP ",
                   std::to_string(tr->status), "); ", no_creds);
      return Err(Where(), ": the token service ", realm, " rejected the credentials from ",
                 creds_.source, " (HTTP ", std::to_string(tr->status),
                 "); check the username and password");
    }
    if (tr->status != 200)
      return Err(Where(), ": token service ", realm, " answered HTTP ", std::to_string(tr->status));
    auto token = ParseTokenReply(tr->body);
    if (!token.ok()) return Err(Where(), ": token service ", realm, ": ", token.message());
    auth_header_ = "Authorization: Bearer " + *token;
    return Ok{};
  }
  if (basic) {
    if (creds_.empty()) return Err(Where(), ": authentication required (HTTP 401); ", no_creds);
    std::string header = "Authorization: " + basic_value;
    if (auth_header_ == header)
      return Err(Where(), ": the credentials from ", creds_.source,
                 " were rejected (HTTP 401); check the username and password");
    auth_header_ = header;
    return Ok{};
  }
  return Err(Where(), ": HTTP 401 without a Basic or Bearer challenge; cannot authenticate");
}

Status HttpStatusError(const HttpResponse& r, const ErrorContext& c) {
  std::string detail = RegistryErrorDetail(r.body);
  std::string d = detail.empty() ? "" : " [" + detail + "]";
  std::string head = c.what + ": " + c.where;
  switch (r.status) {
    case 401:
      if (c.creds_source.empty())
        return Err(head, ": authentication required (HTTP 401)", d,
                   "; set ARROW_REGISTRY_USERNAME/ARROW_REGISTRY_PASSWORD or add the registry to "
                   "~/.docker/config.json");
      return Err(head, ": the credentials from ", c.creds_source, " were rejected (HTTP 401)", d,
                 "; check the username and password");
    case 403:
      return Err(head, ": access denied (HTTP 403)", d, "; the account",
                 c.creds_source.empty() ? " (anonymous)" : " from " + c.creds_source, " lacks ",
                 c.push ? "push" : "pull", " permission on this repository");
    case 404:
      return Err(head, ": not found (HTTP 404)", d,
                 "; check the repository name and tag (`skopeo list-tags docker://", c.registry,
                 "/", c.repository, "` lists the tags)");
    case 413:
      return Err(head, ": the registry refused the upload as too large (HTTP 413)", d,
                 "; lower --chunk-size or raise the body size limit of the registry or its proxy "
                 "(e.g. nginx client_max_body_size)");
    default:
      if (r.status >= 500 || r.status == 429)
        return Err(head, ": the registry failed with HTTP ", std::to_string(r.status), d,
                   c.attempts > 1 ? " (after " + std::to_string(c.attempts) + " attempts)" : "",
                   "; try again later");
      return Err(head, ": unexpected HTTP ", std::to_string(r.status), d);
  }
}

Status Client::StatusError(const HttpResponse& r, const std::string& what, bool retried) const {
  ErrorContext c{what,
                 Where(),
                 ref_.registry,
                 ref_.repository,
                 creds_.source,
                 push_,
                 retried ? options_.max_retries + 1 : 1};
  return HttpStatusError(r, c);
}

Status Client::Ping() {
  HttpRequest req;
  req.url = base_ + "/v2/";
  auto sent = Send(req, true);
  if (!sent.response.ok()) return sent.response.error();
  const HttpResponse& r = *sent.response;
  if (r.status != 200) return StatusError(r, "GET /v2/");
  return Ok{};
}

Result<bool> Client::BlobExists(const std::string& digest) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = Url("/blobs/" + digest);
  auto sent = Send(req, true);
  if (!sent.response.ok()) return sent.response.error();
  if (sent.response->status == 200) return true;
  if (sent.response->status == 404) return false;
  return StatusError(*sent.response, "HEAD blob " + digest).error();
}

Status Client::UploadOnce(std::string_view data, const std::string& digest, PushResult* stats,
                          bool* retryable) {
  *retryable = false;
  auto fail = [&](const Sent& s, const std::string& what) -> Status {
    *retryable = s.retryable;
    if (!s.response.ok()) return s.response.error();
    return StatusError(*s.response, what, /*retried=*/false);
  };
  HttpRequest start;
  start.method = "POST";
  start.url = Url("/blobs/uploads/");
  Sent s = Send(start, false);
  if (!s.response.ok() || s.response->status != 202) return fail(s, "start upload of " + digest);
  std::string location = s.response->Header("location");
  if (location.empty())
    return Err(Where(), ": upload of ", digest, " started without a Location header");
  location = ResolveLocation(location);
  bool show = ShowProgress(options_, data.size());
  uint64_t chunk = options_.chunk_size ? options_.chunk_size : data.size();
  if (data.size() > chunk) {
    for (uint64_t off = 0; off < data.size(); off += chunk) {
      uint64_t n = std::min<uint64_t>(chunk, data.size() - off);
      HttpRequest p;
      p.method = "PATCH";
      p.url = location;
      p.body = data.substr(off, n);
      p.headers.push_back("Content-Range: " + std::to_string(off) + "-" +
                          std::to_string(off + n - 1));
      if (show) {
        p.progress_label = "pushing " + Short(digest);
        p.progress_total = data.size();
        p.progress_offset = off;
      }
      Sent ps = Send(p, false);
      if (!ps.response.ok() || ps.response->status != 202)
        return fail(ps, "upload chunk at offset " + std::to_string(off) + " of " + digest);
      stats->chunks++;
      if (std::string l = ps.response->Header("location"); !l.empty())
        location = ResolveLocation(l);
    }
    data = {};
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = location + (location.find('?') == std::string::npos ? "?" : "&") +
            "digest=" + UrlEscape(digest);
  put.body = data;
  if (show && !data.empty()) {
    put.progress_label = "pushing " + Short(digest);
    put.progress_total = data.size();
  }
  Sent ps = Send(put, false);
  if (!ps.response.ok() || ps.response->status != 201) return fail(ps, "upload of " + digest);
  return Ok{};
}

Status Client::UploadBlob(std::string_view data, const std::string& digest, PushResult* stats) {
  for (int attempt = 0;; ++attempt) {
    bool retryable = false;
    Status s = UploadOnce(data, digest, stats, &retryable);
    if (s.ok()) {
      stats->bytes_uploaded += data.size();
      return s;
    }
    if (!retryable || attempt >= options_.max_retries) {
      if (retryable)
        return Err(s.message(), " (gave up after ", std::to_string(attempt + 1), " attempts)");
      return s;
    }
    Backoff(attempt);
  }
}

Result<std::string> Client::PutManifest(const std::string& target, std::string_view raw,
                                        const std::string& media_type) {
  HttpRequest req;
  req.method = "PUT";
  req.url = Url("/manifests/" + target);
  req.body = raw;
  req.headers.push_back("Content-Type: " + media_type);
  auto sent = Send(req, true);  // PUT of the same manifest is idempotent
  if (!sent.response.ok()) return sent.response.error();
  if (sent.response->status != 201 && sent.response->status != 200) {
    std::string detail = RegistryErrorDetail(sent.response->body);
    if (sent.response->status == 400)
      return Err("PUT manifest ", target, ": ", Where(),
                 ": the registry rejected the manifest (HTTP 400)",
                 detail.empty() ? "" : " [" + detail + "]",
                 "; it may not accept OCI artifacts (artifactType / custom config media types)");
    return StatusError(*sent.response, "PUT manifest " + target).error();
  }
  std::string ours = Sha256Digest(raw);
  std::string theirs = sent.response->Header("docker-content-digest");
  if (!theirs.empty() && theirs.compare(0, 7, "sha256:") == 0 && theirs != ours)
    return Err(Where(), ": the registry stored the manifest as ", theirs, " but its bytes hash to ",
               ours);
  return ours;
}

Status Client::UploadIfMissing(std::string_view data, const std::string& digest, PushResult* stats) {
  auto exists = BlobExists(digest);
  if (!exists.ok()) return exists.error();
  if (*exists) {
    stats->blobs_skipped++;
    return Ok{};
  }
  ARROW_TRY(UploadBlob(data, digest, stats));
  stats->blobs_uploaded++;
  return Ok{};
}

Result<std::optional<FetchedManifest>> Client::FindManifest(const std::string& target) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = Url("/manifests/" + target);
  req.headers.push_back(kManifestAccept);
  auto sent = Send(req, true);
  if (!sent.response.ok()) return sent.response.error();
  if (sent.response->status == 404) return std::optional<FetchedManifest>{};
  auto m = GetManifest(target);
  if (!m.ok()) return m.error();
  return std::optional<FetchedManifest>(std::move(*m));
}

Result<FetchedManifest> Client::GetManifest(const std::string& target) {
  HttpRequest req;
  req.url = Url("/manifests/" + target);
  req.headers.push_back(kManifestAccept);
  req.max_body = 4u << 20;
  auto sent = Send(req, true);
  if (!sent.response.ok()) return sent.response.error();
  const HttpResponse& r = *sent.response;
  if (r.status != 200) return StatusError(r, "GET manifest " + target).error();
  FetchedManifest m;
  m.raw = r.body;
  m.media_type = r.Header("content-type");
  if (size_t semi = m.media_type.find(';'); semi != std::string::npos) m.media_type.resize(semi);
  m.digest = Sha256Digest(m.raw);
  if (target.compare(0, 7, "sha256:") == 0 && target != m.digest)
    return Err(Where(), ": manifest ", target, " was served with content hashing to ", m.digest,
               "; rejected (corrupted or tampered)");
  std::string header = r.Header("docker-content-digest");
  if (!header.empty() && header.compare(0, 7, "sha256:") == 0 && header != m.digest)
    return Err(Where(), ": manifest ", target, ": Docker-Content-Digest says ", header,
               " but the bytes hash to ", m.digest, "; rejected");
  return m;
}

Result<std::string> Client::GetBlob(const std::string& digest, uint64_t size) {
  HttpRequest req;
  req.url = Url("/blobs/" + digest);
  req.max_body = size;
  auto sent = Send(req, true);
  if (!sent.response.ok()) return sent.response.error();
  if (sent.response->status != 200)
    return StatusError(*sent.response, "GET blob " + digest).error();
  const std::string& body = sent.response->body;
  if (body.size() != size)
    return Err(Where(), ": blob ", digest, " is ", std::to_string(body.size()),
               " bytes, the manifest says ", std::to_string(size));
  if (std::string d = Sha256Digest(body); d != digest)
    return Err(Where(), ": blob ", digest, " was served with content hashing to ", d,
               "; rejected (corrupted or tampered)");
  return body;
}

Status Client::GetBlobToFile(const std::string& digest, uint64_t size,
                             const std::filesystem::path& dest) {
  auto file = AtomicFile::Create(dest);
  if (!file.ok()) return file.error();
  auto hash = std::make_unique<Sha256>();
  uint64_t got = 0;
  HttpRequest req;
  req.url = Url("/blobs/" + digest);
  req.sink = [&](std::string_view d) -> Status {
    got += d.size();
    if (got > size)
      return Err(Where(), ": blob ", digest, " is larger than the ", std::to_string(size),
                 " bytes its descriptor declares; rejected");
    hash->Update(d);
    return file->Write(d);
  };
  if (ShowProgress(options_, size)) {
    req.progress_label = "pulling " + Short(digest);
    req.progress_total = size;
  }
  auto restart = [&] {
    if (ftruncate(file->fd(), 0) == 0) lseek(file->fd(), 0, SEEK_SET);
    hash = std::make_unique<Sha256>();
    got = 0;
  };
  auto sent = Send(req, true, restart);
  if (!sent.response.ok()) return sent.response.error();
  if (sent.response->status != 200) return StatusError(*sent.response, "GET blob " + digest);
  if (got != size)
    return Err(Where(), ": blob ", digest, " is ", std::to_string(got),
               " bytes, the manifest says ", std::to_string(size), "; rejected");
  std::string actual = "sha256:" + hash->FinalHex();
  if (actual != digest)
    return Err(Where(), ": blob ", digest, " was served with content hashing to ", actual,
               "; rejected (corrupted or tampered), nothing written");
  return file->Commit();
}

}  // namespace arrow::registry
