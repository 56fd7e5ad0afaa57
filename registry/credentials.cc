// FindCredentials: environment first, then the Docker config's `auths` (see credentials.h).
#include "registry/credentials.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/file_util.h"

namespace arrow::registry {
namespace {

// "https://index.docker.io/v1/" -> "index.docker.io"; "ghcr.io" -> "ghcr.io".
std::string HostOfKey(std::string key) {
  if (size_t p = key.find("://"); p != std::string::npos) key.erase(0, p + 3);
  if (size_t p = key.find('/'); p != std::string::npos) key.resize(p);
  return key;
}

bool SameRegistry(const std::string& key_host, const std::string& registry) {
  if (key_host == registry) return true;
  auto hub = [](const std::string& h) {
    return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io";
  };
  return hub(key_host) && hub(registry);
}

}  // namespace

std::string Base64Encode(const std::string& in) {
  std::vector<unsigned char> out(4 * ((in.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  return std::string(reinterpret_cast<char*>(out.data()), static_cast<size_t>(n));
}

Result<std::string> Base64Decode(const std::string& in) {
  std::string s;
  for (char c : in)
    if (c != '\n' && c != '\r' && c != ' ') s += c;
  if (s.size() % 4 != 0) return Err("invalid base64 (length ", std::to_string(s.size()), ")");
  std::vector<unsigned char> out(s.size() / 4 * 3 + 1);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()),
                          static_cast<int>(s.size()));
  if (n < 0) return Err("invalid base64");
  size_t len = static_cast<size_t>(n);
  for (size_t i = s.size(); i > 0 && s[i - 1] == '=' && len > 0; --i)
    --len;  // EVP keeps padding bytes
  return std::string(reinterpret_cast<char*>(out.data()), len);
}

Credentials CredentialsFromDockerConfig(const std::string& json_text, const std::string& registry,
                                        const std::string& source) {
  Credentials c;
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    c.note = source + " is not valid JSON; ignored";
    return c;
  }
  if (auto auths = j.find("auths"); auths != j.end() && auths->is_object()) {
    for (const auto& [key, entry] : auths->items()) {
      if (!SameRegistry(HostOfKey(key), registry) || !entry.is_object()) continue;
      if (auto a = entry.find("auth");
          a != entry.end() && a->is_string() && !a->get<std::string>().empty()) {
        auto decoded = Base64Decode(a->get<std::string>());
        size_t colon = decoded.ok() ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos) {
          c.note = source + ": auths[\"" + key + "\"].auth is not base64 of user:password";
          return c;
        }
        c.username = decoded->substr(0, colon);
        c.password = decoded->substr(colon + 1);
      } else {
        c.username = entry.value("username", "");
        c.password = entry.value("password", "");
      }
      if (!c.empty()) {
        c.source = source;
        return c;
      }
      if (entry.contains("identitytoken"))
        c.note =
            source + ": auths[\"" + key + "\"] holds an identity token, which Arrow does not use";
    }
  }
  auto helper = [&](const nlohmann::json& h) {
    if (h.is_string())
      c.note = source + " names credential helper docker-credential-" + h.get<std::string>() +
               ", which Arrow does not run; set ARROW_REGISTRY_USERNAME/ARROW_REGISTRY_PASSWORD";
  };
  if (auto helpers = j.find("credHelpers"); helpers != j.end() && helpers->is_object())
    for (const auto& [key, h] : helpers->items())
      if (SameRegistry(HostOfKey(key), registry)) helper(h);
  if (c.note.empty() && j.contains("credsStore")) helper(j["credsStore"]);
  return c;
}

Credentials FindCredentials(const std::string& registry) {
  const char* user = std::getenv("ARROW_REGISTRY_USERNAME");
  const char* pass = std::getenv("ARROW_REGISTRY_PASSWORD");
  if (user && *user) {
    Credentials c;
    c.username = user;
    c.password = pass ? pass : "";
    c.source = "ARROW_REGISTRY_USERNAME/ARROW_REGISTRY_PASSWORD";
    return c;
  }
  std::filesystem::path dir;
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d)
    dir = d;
  else if (const char* h = std::getenv("HOME"); h && *h)
    dir = std::filesystem::path(h) / ".docker";
  else
    return {};
  std::filesystem::path file = dir / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return {};
  auto text = ReadFile(file);
  if (!text.ok()) {
    Credentials c;
    c.note = text.message();
    return c;
  }
  return CredentialsFromDockerConfig(*text, registry, file.string());
}

}  // namespace arrow::registry
