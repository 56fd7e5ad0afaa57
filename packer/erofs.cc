// EROFS root layer: staging + mkfs.erofs + fsck.erofs, and the superblock check; see erofs.h.
#include "packer/erofs.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/file_util.h"
#include "common/sha256.h"
#include "common/uuid.h"

extern char** environ;

namespace arrow::packer {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kErofsMagic = 0xe0f5e1e2;
constexpr size_t kSuperOffset = 1024;

uint32_t Le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Runs a tool with its output in `log`; returns its exit status or why it could not run.
Result<int> RunTool(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  const int e = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0) return Err("cannot run ", args[0], ": ", std::strerror(e), " (install erofs-utils)");
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return Err("waitpid: ", std::strerror(errno));
  if (!WIFEXITED(st)) return Err(args[0], " was killed by signal ", std::to_string(WTERMSIG(st)));
  return WEXITSTATUS(st);
}

std::string Tail(const fs::path& log) {
  auto text = ReadFile(log);
  if (!text) return "";
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  if (t.size() > 600) t = "..." + t.substr(t.size() - 600);
  return t.empty() ? "" : ": " + t;
}

// The entries as a directory tree under `root`, with their modes.
Status Stage(const std::vector<CpioEntry>& entries, const fs::path& root) {
  std::vector<const CpioEntry*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const CpioEntry* a, const CpioEntry* b) { return a->path < b->path; });
  std::vector<std::pair<fs::path, uint32_t>> dir_modes;  // applied last: a 0555 dir stays writable meanwhile
  for (const CpioEntry* e : sorted) {
    if (e->path.empty() || e->path[0] == '/' || e->path.find("..") != std::string::npos)
      return Err("erofs: bad entry path '", e->path, "'");
    const fs::path p = root / e->path;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) return Err("erofs: mkdir ", p.parent_path().string(), ": ", ec.message());
    switch (e->type) {
      case CpioEntry::Type::kDirectory:
        fs::create_directories(p, ec);
        if (ec) return Err("erofs: mkdir ", p.string(), ": ", ec.message());
        dir_modes.push_back({p, e->mode});
        break;
      case CpioEntry::Type::kFile:
        if (!e->source.empty()) {
          if (!fs::copy_file(e->source, p, ec) || ec)
            return Err("erofs: copy ", e->source, ": ", ec.message());
        } else {
          ARROW_TRY(WriteFileAtomic(p, e->data));
        }
        if (chmod(p.c_str(), e->mode & 07777) != 0)
          return Err("erofs: chmod ", p.string(), ": ", std::strerror(errno));
        break;
      case CpioEntry::Type::kSymlink:
        fs::create_symlink(e->link_target, p, ec);
        if (ec) return Err("erofs: symlink ", p.string(), ": ", ec.message());
        break;
      case CpioEntry::Type::kCharDevice:
        return Err("erofs: /", e->path, ": device nodes belong in the initramfs, not the root layer");
    }
  }
  if (chmod(root.c_str(), 0755) != 0) return Err("erofs: chmod ", root.string(), ": ", std::strerror(errno));
  for (auto it = dir_modes.rbegin(); it != dir_modes.rend(); ++it)
    if (chmod(it->first.c_str(), it->second & 07777) != 0)
      return Err("erofs: chmod ", it->first.string(), ": ", std::strerror(errno));
  return Ok{};
}

}  // namespace

std::string UuidFromText(std::string_view text) {
  std::string h = Sha256Hex(text).substr(0, 32);
  h[12] = '4';                                            // version 4 shape
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];  // variant 10xx
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

Result<ErofsInfo> InspectErofs(std::string_view image) {
  if (image.size() < kSuperOffset + 128) return Err("erofs: the image is too small for a superblock");
  const char* sb = image.data() + kSuperOffset;
  if (Le32(sb) != kErofsMagic) return Err("erofs: bad superblock magic (not an EROFS image)");
  const auto bits = static_cast<uint8_t>(sb[12]);
  if (bits < 9 || bits > 16) return Err("erofs: unsupported block size 2^", std::to_string(bits));
  ErofsInfo info;
  info.block_size = 1u << bits;
  info.blocks = Le32(sb + 36);
  std::memcpy(&info.inodes, sb + 16, 8);
  if (info.blocks * info.block_size > image.size())
    return Err("erofs: the superblock claims ", std::to_string(info.blocks * info.block_size),
               " bytes, the image has ", std::to_string(image.size()));
  info.uuid = FormatUuid(reinterpret_cast<const uint8_t*>(sb + 48));
  return info;
}

Result<ErofsInfo> WriteErofs(const std::vector<CpioEntry>& entries, const fs::path& out,
                             const ErofsOptions& o) {
  auto tmp = TempDir::Create("arrow-erofs");
  if (!tmp) return tmp.error();
  const fs::path root = tmp->path() / "root", image = tmp->path() / "root.erofs",
                 log = tmp->path() / "log";
  std::error_code ec;
  fs::create_directory(root, ec);
  if (ec) return Err("erofs: mkdir ", root.string(), ": ", ec.message());
  ARROW_TRY(Stage(entries, root));
  std::vector<std::string> mkfs = {"mkfs.erofs", "--quiet", "-zlz4hc,12", "-x-1", "--all-root",
                                   "-T" + std::to_string(o.mtime)};
  if (!o.uuid.empty()) mkfs.push_back("-U" + o.uuid);
  mkfs.insert(mkfs.end(), {image.string(), root.string()});
  auto st = RunTool(mkfs, log);
  // Directories back to writable, so the staging tree can be removed by a non-root builder.
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0755);
  if (!st) return st.error();
  if (*st != 0) return Err("mkfs.erofs failed (exit status ", std::to_string(*st), ")", Tail(log));
  st = RunTool({"fsck.erofs", image.string()}, log);
  if (!st) return st.error();
  if (*st != 0) return Err("fsck.erofs rejected the new root layer", Tail(log));
  auto bytes = ReadFile(image);
  if (!bytes) return bytes.error();
  if (bytes->size() % 512) bytes->resize((bytes->size() + 511) & ~size_t{511}, '\0');
  auto info = InspectErofs(*bytes);
  if (!info) return info.error();
  if (!o.uuid.empty() && info->uuid != o.uuid)
    return Err("erofs: mkfs.erofs ignored the fixed UUID (", info->uuid, ")");
  ARROW_TRY(WriteFileAtomic(out, *bytes));
  return info;
}

}  // namespace arrow::packer
