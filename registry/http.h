// One HTTP exchange over libcurl, nothing registry-specific: method, URL, headers, a request body
// from memory, and a response body either kept (bounded) or streamed to a sink.
//
// A Transport owns one curl easy handle so connections are kept alive across the many small
// requests a push or pull makes. It never retries; retry policy belongs to the caller, which
// knows what is idempotent. Transport failures come back as errors carrying curl's message and
// a `retryable` flag (connection refused/reset, timeouts), HTTP statuses come back as responses.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

typedef void CURL;

namespace arrow::registry {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;             // request body (POST/PUT/PATCH); may be empty
  // When set, a 2xx response body is streamed here instead of kept; returning an error aborts.
  std::function<Status(std::string_view)> sink;
  uint64_t max_body = 8u << 20;  // cap on a kept body
  std::string progress_label;    // non-empty: show progress on stderr (caller checks the TTY)
  uint64_t progress_total = 0;
  uint64_t progress_offset = 0;  // bytes of the same blob sent by earlier requests (chunks)
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names; the last value wins
  std::vector<std::string> www_authenticate;   // every WWW-Authenticate value
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct TransportError {
  std::string message;
  bool retryable = false;
  bool tls = false;  // a TLS handshake problem (hint: --plain-http)
};

struct TransportOptions {
  long connect_timeout_s = 15;
  long low_speed_time_s = 30;   // abort when below 1 KiB/s for this long
  uint64_t max_recv_speed = 0;  // bytes/s, 0 = unlimited (--limit-rate)
  uint64_t max_send_speed = 0;
  bool verbose = false;  // log each request/status on stderr
};

class Transport {
 public:
  explicit Transport(TransportOptions options);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // A response (any status) or a transport error in `*error` (then the Result is an Error too).
  Result<HttpResponse> Perform(const HttpRequest& request, TransportError* error);

 private:
  TransportOptions options_;
  CURL* curl_ = nullptr;
};

}  // namespace arrow::registry
