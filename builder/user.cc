// [app] user -> uid/gid from the build root's passwd and group files; see user.h.
#include "builder/user.h"

#include <charconv>
#include <optional>
#include <sstream>
#include <vector>

#include "common/file_util.h"

namespace arrow::builder {
namespace {

std::optional<uint32_t> Number(const std::string& s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The colon-separated fields of the line whose field `key` equals `value`.
std::optional<std::vector<std::string>> Find(const std::string& text, size_t key, const std::string& value) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::string cur;
    for (char c : line) {
      if (c == ':') {
        f.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    f.push_back(cur);
    if (f.size() >= 4 && f[key] == value) return f;
  }
  return std::nullopt;
}

}  // namespace

Result<UserIds> ResolveUser(const std::filesystem::path& sysroot, const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string user = spec.substr(0, colon);
  const std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  const auto passwd_path = sysroot / "etc/passwd", group_path = sysroot / "etc/group";
  auto passwd = ReadFile(passwd_path);
  UserIds ids;
  std::optional<uint32_t> primary;
  if (auto n = Number(user)) {
    ids.uid = *n;
    if (passwd)
      if (auto f = Find(*passwd, 2, user)) primary = Number((*f)[3]);
    if (!primary) primary = ids.uid;
  } else {
    if (!passwd) return Err("[app] user '", spec, "': cannot read ", passwd_path.string(), ": ", passwd.message());
    auto f = Find(*passwd, 0, user);
    if (!f) return Err("[app] user '", spec, "': no user '", user, "' in ", passwd_path.string());
    auto uid = Number((*f)[2]);
    primary = Number((*f)[3]);
    if (!uid || !primary) return Err("[app] user '", spec, "': malformed entry in ", passwd_path.string());
    ids.uid = *uid;
  }
  if (group.empty()) {
    ids.gid = *primary;
  } else if (auto n = Number(group)) {
    ids.gid = *n;
  } else {
    auto groups = ReadFile(group_path);
    if (!groups) return Err("[app] user '", spec, "': cannot read ", group_path.string(), ": ", groups.message());
    std::istringstream in(*groups);
    std::optional<uint32_t> gid;
    for (std::string line; std::getline(in, line);) {
      const size_t a = line.find(':'), b = line.find(':', a + 1), c = line.find(':', b + 1);
      if (a == std::string::npos || b == std::string::npos || c == std::string::npos) continue;
      if (line.substr(0, a) == group) gid = Number(line.substr(b + 1, c - b - 1));
      if (gid) break;
    }
    if (!gid) return Err("[app] user '", spec, "': no group '", group, "' in ", group_path.string());
    ids.gid = *gid;
  }
  return ids;
}

}  // namespace arrow::builder
