// [app] user -> uid/gid from the build root's passwd and group files; see user.h.
#include "builder/user.h"

#include <charconv>
#include <map>
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

std::vector<std::string> Fields(const std::string& line) {
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
  return f;
}

// The colon-separated fields of the line whose field `key` equals `value`.
std::optional<std::vector<std::string>> Find(const std::string& text, size_t key, const std::string& value) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto f = Fields(line);
    if (f.size() >= 4 && f[key] == value) return f;
  }
  return std::nullopt;
}

}  // namespace

Accounts AccountsFor(const std::filesystem::path& sysroot, const std::vector<UserIds>& ids) {
  std::map<uint32_t, uint32_t> users = {{0, 0}};  // uid -> primary gid
  std::map<uint32_t, std::string> groups = {{0, ""}};
  for (const auto& id : ids) {
    users.emplace(id.uid, id.gid);
    groups.emplace(id.gid, "");
  }
  std::map<uint32_t, std::string> passwd_lines, group_lines;
  auto scan = [](const std::filesystem::path& file, size_t min_fields, auto&& take) {
    auto text = ReadFile(file);
    if (!text) return;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
      auto f = Fields(line);
      if (f.size() < min_fields) continue;
      if (auto id = Number(f[2])) take(*id, f);
    }
  };
  scan(sysroot / "etc/passwd", 7, [&](uint32_t uid, const std::vector<std::string>& f) {
    if (users.count(uid) && !passwd_lines.count(uid))
      passwd_lines[uid] = f[0] + ":x:" + f[2] + ":" + f[3] + ":" + f[4] + ":" + f[5] + ":" + f[6];
  });
  scan(sysroot / "etc/group", 3, [&](uint32_t gid, const std::vector<std::string>& f) {
    if (groups.count(gid) && !group_lines.count(gid)) group_lines[gid] = f[0] + ":x:" + f[2] + ":";
  });
  Accounts a;
  for (const auto& [uid, gid] : users) {
    auto it = passwd_lines.find(uid);
    a.passwd += it != passwd_lines.end() ? it->second
                                         : "u" + std::to_string(uid) + ":x:" + std::to_string(uid) + ":" +
                                               std::to_string(gid) + "::/:/usr/sbin/nologin";
    a.passwd += "\n";
  }
  for (const auto& [gid, unused] : groups) {
    auto it = group_lines.find(gid);
    a.group += it != group_lines.end() ? it->second : "g" + std::to_string(gid) + ":x:" + std::to_string(gid) + ":";
    a.group += "\n";
  }
  return a;
}

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
    if (!passwd) return Err("user '", spec, "': cannot read ", passwd_path.string(), ": ", passwd.message());
    auto f = Find(*passwd, 0, user);
    if (!f) return Err("user '", spec, "': no user '", user, "' in ", passwd_path.string());
    auto uid = Number((*f)[2]);
    primary = Number((*f)[3]);
    if (!uid || !primary) return Err("user '", spec, "': malformed entry in ", passwd_path.string());
    ids.uid = *uid;
  }
  if (group.empty()) {
    ids.gid = *primary;
  } else if (auto n = Number(group)) {
    ids.gid = *n;
  } else {
    auto groups = ReadFile(group_path);
    if (!groups) return Err("user '", spec, "': cannot read ", group_path.string(), ": ", groups.message());
    std::istringstream in(*groups);
    std::optional<uint32_t> gid;
    for (std::string line; std::getline(in, line);) {
      const size_t a = line.find(':'), b = line.find(':', a + 1), c = line.find(':', b + 1);
      if (a == std::string::npos || b == std::string::npos || c == std::string::npos) continue;
      if (line.substr(0, a) == group) gid = Number(line.substr(b + 1, c - b - 1));
      if (gid) break;
    }
    if (!gid) return Err("user '", spec, "': no group '", group, "' in ", group_path.string());
    ids.gid = *gid;
  }
  return ids;
}

}  // namespace arrow::builder
