// `WWW-Authenticate` challenges (RFC 7235) as registries send them:
//   Basic realm="Registry Realm"
//   Bearer
//   realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"
// and the token endpoint's reply ({"token": ...} or {"access_token": ...}). Both are untrusted
// input, parsed without exceptions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::registry {

struct Challenge {
  std::string scheme;                         // lowercase: "basic", "bearer"
  std::map<std::string, std::string> params;  // lowercase names: realm, service, scope, error
  std::string Param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? "" : it->second;
  }
};

// One header value may hold several challenges ("Basic realm=x, Bearer realm=y").
std::vector<Challenge> ParseChallenges(const std::string& header);

// The bearer token from a token endpoint's JSON reply.
Result<std::string> ParseTokenReply(const std::string& body);

// Percent-encodes for a URL query value (RFC 3986 unreserved characters kept).
std::string UrlEscape(const std::string& s);

}  // namespace arrow::registry
