// Transport: libcurl easy interface, one handle reused for keep-alive (see http.h).
#include "registry/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace arrow::registry {
namespace {

struct Exchange {
  const HttpRequest* req;
  HttpResponse* resp;
  CURL* curl;
  Status sink_status;
  bool body_too_large = false;
  std::chrono::steady_clock::time_point last_progress{};
  bool progress_shown = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.compare(0, 5, "HTTP/") == 0) {  // a new response (redirect, 100-continue): start over
    x->resp->headers.clear();
    x->resp->www_authenticate.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string value = line.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  if (name == "www-authenticate") x->resp->www_authenticate.push_back(value);
  x->resp->headers[name] = value;
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
  if (x->req->sink && code >= 200 && code < 300) {
    x->sink_status = x->req->sink(std::string_view(data, len));
    return x->sink_status.ok() ? len : 0;
  }
  if (x->resp->body.size() + len > x->req->max_body) {
    x->body_too_large = true;
    return 0;
  }
  x->resp->body.append(data, len);
  return len;
}

int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow) {
  auto* x = static_cast<Exchange*>(user);
  auto now = std::chrono::steady_clock::now();
  if (now - x->last_progress < std::chrono::milliseconds(100)) return 0;
  x->last_progress = now;
  double done =
      static_cast<double>(x->req->progress_offset) + static_cast<double>(ulnow > 0 ? ulnow : dlnow);
  double total = static_cast<double>(x->req->progress_total ? x->req->progress_total
                                                            : (ultotal > 0 ? ultotal : dltotal));
  if (total <= 0) return 0;
  std::fprintf(stderr, "\r%s %6.1f / %.1f MiB (%3.0f%%)", x->req->progress_label.c_str(),
               done / 1048576.0, total / 1048576.0, 100.0 * done / total);
  x->progress_shown = true;
  return 0;
}

bool Retryable(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

}  // namespace

Transport::Transport(TransportOptions options) : options_(options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

Transport::~Transport() {
  if (curl_) curl_easy_cleanup(curl_);
}

Result<HttpResponse> Transport::Perform(const HttpRequest& req, TransportError* error) {
  *error = {};
  if (!curl_) {
    error->message = "cannot initialise libcurl";
    return Err(error->message);
  }
  HttpResponse resp;
  Exchange x{&req, &resp, curl_};
  CURL* c = curl_;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "arrow/" ARROW_VERSION);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);  // blob GETs may redirect to storage
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options_.low_speed_time_s);
  if (options_.max_recv_speed)
    curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE,
                     static_cast<curl_off_t>(options_.max_recv_speed));
  if (options_.max_send_speed)
    curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE,
                     static_cast<curl_off_t>(options_.max_send_speed));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
  if (!req.progress_label.empty()) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    // Never NULL: a NULL POSTFIELDS would make curl read the body from stdin.
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_slist* headers = nullptr;
  bool has_type = false;
  for (const auto& h : req.headers) {
    headers = curl_slist_append(headers, h.c_str());
    if (h.compare(0, 13, "Content-Type:") == 0) has_type = true;
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (req.method != "GET" && req.method != "HEAD" && !has_type)
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (x.progress_shown) std::fputs("\r\033[K", stderr);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (options_.verbose)
    std::fprintf(stderr, "arrow: %s %s -> %ld%s\n", req.method.c_str(), req.url.c_str(),
                 resp.status, rc == CURLE_OK ? "" : " (transfer failed)");
  if (rc != CURLE_OK) {
    if (!x.sink_status.ok()) {
      error->message = x.sink_status.message();
    } else if (x.body_too_large) {
      error->message = "response body larger than " + std::to_string(req.max_body) + " bytes";
    } else {
      error->message = errbuf[0] ? errbuf : curl_easy_strerror(rc);
      error->retryable = Retryable(rc);
      error->tls = rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION;
    }
    return Err(error->message);
  }
  return resp;
}

}  // namespace arrow::registry
