// Challenge and token-reply parsing (see auth.h). The parser is a small state machine over
// `scheme` then `name=value` / `name="quoted \" value"` pairs separated by commas; a token that
// is followed by a space-separated token (not '=') starts the next challenge.
#include "registry/auth.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace arrow::registry {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

}  // namespace

std::vector<Challenge> ParseChallenges(const std::string& h) {
  std::vector<Challenge> out;
  size_t i = 0, n = h.size();
  auto skip_ws = [&] {
    while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  auto token = [&] {
    size_t s = i;
    while (i < n && IsTokenChar(h[i])) ++i;
    return h.substr(s, i - s);
  };
  while (true) {
    skip_ws();
    if (i >= n) break;
    std::string word = token();
    if (word.empty()) {
      ++i;
      continue;
    }  // stray character: skip it
    size_t save = i;
    while (i < n && (h[i] == ' ' || h[i] == '\t')) ++i;
    if (i < n && h[i] == '=' && !out.empty()) {  // a parameter of the current challenge
      ++i;
      while (i < n && (h[i] == ' ' || h[i] == '\t')) ++i;
      std::string value;
      if (i < n && h[i] == '"') {
        ++i;
        while (i < n && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < n) ++i;
          value += h[i++];
        }
        if (i < n) ++i;  // closing quote
      } else {
        size_t s = i;
        while (i < n && h[i] != ',' && h[i] != ' ') ++i;
        value = h.substr(s, i - s);
      }
      out.back().params[Lower(word)] = value;
      continue;
    }
    i = save;
    out.push_back(Challenge{Lower(word), {}});
  }
  return out;
}

Result<std::string> ParseTokenReply(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Err("token reply is not a JSON object");
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty())
      return it->get<std::string>();
  }
  return Err("token reply has neither 'token' nor 'access_token'");
}

std::string UrlEscape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace arrow::registry
