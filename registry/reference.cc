// ParseReference: see reference.h for the rules. Errors quote the reference and say which part
// is wrong, since a typo in a reference otherwise surfaces as a confusing 404 from the registry.
#include "registry/reference.h"

#include <cctype>

namespace arrow::registry {
namespace {

bool IsAlnumLower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool ValidComponent(const std::string& c) {
  if (c.empty() || !IsAlnumLower(c.front()) || !IsAlnumLower(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsAlnumLower(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsAlnumLower(c[j])) ++j;
    std::string sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = j;
  }
  return true;
}

bool ValidTag(const std::string& t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t[0])) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

bool ValidDigest(const std::string& d) {
  if (d.size() != 71 || d.compare(0, 7, "sha256:") != 0) return false;
  for (size_t i = 7; i < d.size(); ++i)
    if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f'))) return false;
  return true;
}

bool ValidHost(const std::string& h) {
  if (h.empty()) return false;
  if (h[0] == '[') {  // [ipv6]:port
    size_t close = h.find(']');
    if (close == std::string::npos) return false;
    std::string rest = h.substr(close + 1);
    return rest.empty() || (rest[0] == ':' && rest.size() > 1 &&
                            rest.find_first_not_of("0123456789", 1) == std::string::npos);
  }
  size_t colon = h.find(':');
  std::string name = h.substr(0, colon);
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  if (colon != std::string::npos) {
    std::string port = h.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
      return false;
  }
  return true;
}

}  // namespace

Result<Reference> ParseReference(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Err("invalid image reference '", text, "': ", why,
               " (expected [host[:port]/]path[:tag][@sha256:<hex>])");
  };
  std::string s = text;
  if (s.compare(0, 9, "docker://") == 0) s.erase(0, 9);
  if (s.empty()) return bad("empty");
  Reference r;
  if (size_t at = s.find('@'); at != std::string::npos) {
    r.digest = s.substr(at + 1);
    s.resize(at);
    if (!ValidDigest(r.digest))
      return bad("digest '" + r.digest + "' is not sha256:<64 lowercase hex>");
  }
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    r.tag = s.substr(colon + 1);
    s.resize(colon);
    if (!ValidTag(r.tag)) return bad("tag '" + r.tag + "' is not valid");
  }
  std::string path = s;
  size_t first = s.find('/');
  if (first != std::string::npos) {
    std::string head = s.substr(0, first);
    if (head.find_first_of(".:") != std::string::npos || head == "localhost" || head[0] == '[') {
      if (!ValidHost(head)) return bad("registry host '" + head + "' is not valid");
      r.registry = head;
      path = s.substr(first + 1);
    }
  }
  if (r.registry.empty() || r.registry == "index.docker.io") {
    r.registry = "docker.io";
    if (path.find('/') == std::string::npos) path = "library/" + path;
  }
  if (path.empty()) return bad("repository path is empty");
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string comp = path.substr(i, j - i);
    if (!ValidComponent(comp))
      return bad("path component '" + comp +
                 "' must be lowercase letters and digits separated by '.', '_', '__' or '-'");
    i = j + 1;
  }
  if (path.size() > 255) return bad("repository path is longer than 255 characters");
  r.repository = path;
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

std::string Reference::ApiHost() const {
  return registry == "docker.io" ? "registry-1.docker.io" : registry;
}

bool Reference::IsLoopback() const {
  std::string host = registry;
  if (!host.empty() && host[0] == '[') {
    return host.compare(0, 5, "[::1]") == 0;
  }
  host = host.substr(0, host.find(':'));
  return host == "localhost" || host.compare(0, 4, "127.") == 0;
}

std::string Reference::String() const {
  std::string s = registry + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

}  // namespace arrow::registry
