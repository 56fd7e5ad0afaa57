// Reproducible cpio planning (see cpio_plan.h).
#include "packer/cpio_plan.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

namespace arrow::packer {
namespace {

const char* TypeName(CpioEntry::Type t) {
  switch (t) {
    case CpioEntry::Type::kFile: return "file";
    case CpioEntry::Type::kDirectory: return "directory";
    case CpioEntry::Type::kSymlink: return "symlink";
    case CpioEntry::Type::kCharDevice: return "char device";
  }
  return "?";
}

}  // namespace

Result<std::string> NormalizeGuestPath(const std::string& path) {
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    i = j + 1;
    if (part.empty()) continue;
    if (part == "." || part == "..")
      return Err("initramfs entry '", path, "': path must not contain '.' or '..' components");
    if (part.find('\0') != std::string::npos)
      return Err("initramfs entry '", path, "': path contains a NUL byte");
    if (!out.empty()) out += '/';
    out += part;
  }
  if (out.empty()) return Err("initramfs entry '", path, "': empty path (the root is implicit)");
  return out;
}

Result<std::vector<PlannedEntry>> PlanCpio(std::vector<CpioEntry> entries) {
  std::map<std::string, PlannedEntry> by_path;  // sorted by path (byte order)
  for (auto& e : entries) {
    auto norm = NormalizeGuestPath(e.path);
    if (!norm.ok()) return norm.error();
    if (e.mode > 07777)
      return Err("initramfs entry '", e.path, "': mode ", std::to_string(e.mode),
                 " has bits beyond 07777 (give permission bits only)");
    if (e.type == CpioEntry::Type::kSymlink && e.link_target.empty())
      return Err("initramfs entry '", e.path, "': symlink without a target");
    e.path = *norm;
    auto it = by_path.find(e.path);
    if (it != by_path.end()) {
      const CpioEntry& prev = it->second.entry;
      if (prev.type == CpioEntry::Type::kDirectory && e.type == CpioEntry::Type::kDirectory &&
          prev.mode == e.mode)
        continue;  // the same directory listed twice is harmless
      return Err("initramfs entry '", e.path, "' is listed twice (", TypeName(prev.type), " and ",
                 TypeName(e.type), ")");
    }
    PlannedEntry p;
    p.entry = std::move(e);
    by_path.emplace(p.entry.path, std::move(p));
  }
  // Missing parents become 0755 directories; existing parents must be directories.
  std::vector<std::string> paths;
  for (const auto& [path, _] : by_path) paths.push_back(path);
  for (const auto& path : paths) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string parent = path.substr(0, slash);
      auto it = by_path.find(parent);
      if (it == by_path.end()) {
        PlannedEntry p;
        p.entry.path = parent;
        p.entry.type = CpioEntry::Type::kDirectory;
        p.entry.mode = 0755;
        by_path.emplace(parent, std::move(p));
      } else if (it->second.entry.type != CpioEntry::Type::kDirectory) {
        return Err("initramfs entry '", path, "': parent '", parent, "' is a ",
                   TypeName(it->second.entry.type), ", not a directory");
      }
    }
  }

  std::vector<PlannedEntry> out;
  out.reserve(by_path.size());
  for (auto& [_, p] : by_path) out.push_back(std::move(p));

  std::map<std::pair<dev_t, ino_t>, size_t> first_of_inode;  // source identity -> index in out
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < out.size(); ++i) {
    PlannedEntry& p = out[i];
    index_of[p.entry.path] = i;
    p.ino = i + 1;
    if (p.entry.type == CpioEntry::Type::kDirectory) p.nlink = 2;
    if (p.entry.type != CpioEntry::Type::kFile) continue;
    if (p.entry.source.empty()) {
      p.size = p.entry.data.size();
      continue;
    }
    struct stat st;
    if (stat(p.entry.source.c_str(), &st) != 0)
      return Err("initramfs entry '", p.entry.path, "': cannot stat source ", p.entry.source, ": ",
                 std::strerror(errno));
    if (!S_ISREG(st.st_mode))
      return Err("initramfs entry '", p.entry.path, "': source ", p.entry.source,
                 " is not a regular file");
    p.size = static_cast<uint64_t>(st.st_size);
    auto [it, fresh] = first_of_inode.emplace(std::make_pair(st.st_dev, st.st_ino), i);
    if (!fresh) {
      PlannedEntry& first = out[it->second];
      p.ino = first.ino;
      p.size = first.size;
      p.entry.mode = first.entry.mode;  // one inode has one mode
      first.nlink++;
    }
  }
  // Hardlink members share the first member's link count; directories count subdirectories.
  for (auto& p : out) {
    if (p.entry.type == CpioEntry::Type::kFile && p.ino != index_of[p.entry.path] + 1)
      p.nlink = out[p.ino - 1].nlink;
    size_t slash = p.entry.path.rfind('/');
    if (p.entry.type == CpioEntry::Type::kDirectory && slash != std::string::npos)
      out[index_of[p.entry.path.substr(0, slash)]].nlink++;
  }
  return out;
}

}  // namespace arrow::packer
