// Kernel source identity and unpacking (see kernel_source.h).
#include "builder/kernel_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <sstream>

#include "builder/command.h"
#include "builder/file_lock.h"
#include "common/file_util.h"
#include "common/sha256.h"

namespace arrow::builder {
namespace fs = std::filesystem;
namespace {

int64_t MtimeNs(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

// sha256 of a tarball, remembered in <cache>/kernels/src/<sha256(path)>.id as
// "<size> <mtime_ns> <hex>" so later runs only stat() the tarball.
Result<std::string> TarballDigest(const fs::path& path, const struct stat& st,
                                  const fs::path& cache_dir) {
  const fs::path memo =
      cache_dir / "kernels" / "src" / (Sha256Hex(path.string()).substr(0, 16) + ".id");
  const std::string stamp = std::to_string(st.st_size) + " " + std::to_string(MtimeNs(st));
  if (auto text = ReadFile(memo); text.ok()) {
    std::istringstream in(*text);
    std::string size, mtime, hex;
    in >> size >> mtime >> hex;
    if (size + " " + mtime == stamp && hex.size() == 64) return hex;
  }
  auto hex = Sha256FileHex(path);
  if (!hex.ok()) return hex.error();
  std::error_code ec;
  fs::create_directories(memo.parent_path(), ec);
  // The memo is only an optimization: failing to write it is not an error.
  (void)WriteFileAtomic(memo, stamp + " " + *hex + "\n");
  return *hex;
}

Result<std::string> DirSummary(const fs::path& dir) {
  uint64_t files = 0, bytes = 0;
  int64_t newest = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    ++files;
    if (S_ISREG(st.st_mode)) bytes += static_cast<uint64_t>(st.st_size);
    newest = std::max(newest, MtimeNs(st));
  }
  if (ec) return Err(dir.string(), ": cannot walk kernel source: ", ec.message());
  return "dir " + dir.string() + " files=" + std::to_string(files) +
         " bytes=" + std::to_string(bytes) + " mtime=" + std::to_string(newest);
}

}  // namespace

Result<KernelSource> IdentifyKernelSource(const fs::path& given, const fs::path& cache_dir) {
  KernelSource src;
  std::error_code ec;
  src.path = fs::absolute(given.empty() ? fs::path(kDefaultKernelSource) : given, ec);
  struct stat st;
  if (::stat(src.path.c_str(), &st) != 0) {
    if (given.empty())
      return Err(
          "kernel source ", src.path.string(),
          " not found: install it (apt-get install linux-source-6.1, or scripts/install-deps.sh)"
          " or pass a kernel source directory or tarball");
    return Err("kernel source ", src.path.string(), " not found");
  }
  if (S_ISDIR(st.st_mode)) {
    if (!fs::exists(src.path / "Makefile") || !fs::exists(src.path / "scripts" / "kconfig"))
      return Err(src.path.string(),
                 ": not a Linux kernel source tree (no Makefile or scripts/kconfig)");
    auto summary = DirSummary(src.path);
    if (!summary.ok()) return summary.error();
    src.identity = *summary;
    return src;
  }
  auto hex = TarballDigest(src.path, st, cache_dir);
  if (!hex.ok()) return hex.error();
  src.is_tarball = true;
  src.digest = *hex;
  src.identity = "tarball sha256:" + *hex;
  return src;
}

namespace {

// Unpacks the tarball into <root>/<name> unless it is there; the caller holds <name>.lock.
Status UnpackLocked(const KernelSource& source, const fs::path& root, const std::string& name,
                    const std::function<void(std::string_view)>& progress) {
  const fs::path dest = root / name;
  if (fs::exists(dest / "Makefile")) return Ok{};
  std::error_code ec;
  // Leftovers of an interrupted unpack of this tarball (we hold its lock).
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.path().filename().string().starts_with(".tmp-" + name)) fs::remove_all(e.path(), ec);
  const fs::path tmp = root / (".tmp-" + name + "-" + std::to_string(::getpid()));
  fs::create_directories(tmp, ec);
  if (ec) return Err(tmp.string(), ": cannot create: ", ec.message());
  if (progress) progress("[kernel] unpacking " + source.path.string() + " (once per source)");
  auto out = CaptureCommand({"tar", "-xf", source.path.string(), "-C", tmp.string(),
                             "--strip-components=1", "--no-same-owner"});
  if (!out.ok()) {
    fs::remove_all(tmp, ec);
    return Err("unpacking kernel source: ", out.message());
  }
  if (!fs::exists(tmp / "Makefile") || !fs::exists(tmp / "scripts" / "kconfig")) {
    fs::remove_all(tmp, ec);
    return Err(
        source.path.string(),
        ": not a Linux source tarball (expected one top directory holding the kernel Makefile)");
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove_all(tmp, ec);
    return Err(dest.string(), ": cannot rename unpacked source into place: ", why);
  }
  return Ok{};
}

}  // namespace

Result<UnpackedSource> UnpackKernelSource(const KernelSource& source, const fs::path& cache_dir,
                                          const std::function<void(std::string_view)>& progress) {
  if (!source.is_tarball) return UnpackedSource{source.path, std::nullopt};
  const fs::path root = cache_dir / "kernels" / "src";
  const std::string name = source.digest.substr(0, 16);
  const fs::path dest = root / name, lock_path = root / (name + ".lock");
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Err(root.string(), ": cannot create: ", ec.message());
  auto waiting = [&] {
    if (progress) progress("[kernel] waiting for another process using " + dest.string());
  };
  // The tree is used under a shared lock (prune takes it exclusively); it is unpacked under the
  // exclusive one. A prune can slip in between the two, hence the second round.
  for (int round = 0; round < 2; ++round) {
    {
      auto shared = FileLock::AcquireShared(lock_path, waiting);
      if (!shared.ok()) return shared.error();
      if (fs::exists(dest / "Makefile")) return UnpackedSource{dest, std::move(*shared)};
    }
    auto lock = FileLock::Acquire(lock_path, waiting);
    if (!lock.ok()) return lock.error();
    ARROW_TRY(UnpackLocked(source, root, name, progress));
  }
  return Err(dest.string(),
             ": removed again right after unpacking (a concurrent `arrow kernel "
             "prune`?); run the build again");
}

}  // namespace arrow::builder
