// Guest paths shared by the builder (recipe checks) and the runner (-v): what "inside" means and
// which directories belong to the kernel or arrow-init, so nothing may be mounted or created
// over them.
#pragma once

#include <string>
#include <string_view>

namespace arrow {

// `path` is `dir` itself or below it ("/data/x" is within "/data", "/database" is not).
inline bool PathWithin(std::string_view dir, std::string_view path) {
  return path == dir ||
         (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

// Owned by the kernel (proc, sysfs, devtmpfs) or by arrow-init (its program and configuration).
inline constexpr const char* kReservedGuestPaths[] = {"/proc", "/sys", "/dev", "/.arrow", "/init"};

// The reserved directory `path` is within, or nullptr.
inline const char* ReservedGuestPath(std::string_view path) {
  for (const char* r : kReservedGuestPaths)
    if (PathWithin(r, path)) return r;
  return nullptr;
}

}  // namespace arrow
