// Catalog lookup and the cache of built catalog arrows; see catalog.h.
#include "cli/catalog.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <set>

#include "builder/build.h"
#include "builder/kernel_build.h"
#include "builder/recipe.h"
#include "cli/commands.h"
#include "common/file_util.h"
#include "common/sha256.h"

namespace arrow::cli {
namespace fs = std::filesystem;
namespace {

std::string FileDigest(const fs::path& p) {
  auto h = Sha256FileHex(p);
  return h ? *h : "missing:" + p.string();
}

// Everything a build of this recipe depends on besides the build root's files.
Result<std::string> Key(const builder::Recipe& r, const std::string& text) {
  std::string k = "arrow " ARROW_VERSION "\n" + text + "\ninit " + FileDigest(FindInitBinary()) + "\n";
  for (const auto& [guest, host] : r.files.map) k += "map " + guest + " " + FileDigest(builder::RecipePath(r, host)) + "\n";
  std::error_code ec;
  std::vector<fs::path> fragments;  // the ones a tuned kernel build would read
  for (const auto& e : fs::directory_iterator(builder::KernelBuildEnv::FromEnvironment().configs_dir, ec))
    if (e.path().extension() == ".config") fragments.push_back(e.path());
  std::sort(fragments.begin(), fragments.end());
  for (const auto& f : fragments) k += "fragment " + f.filename().string() + " " + FileDigest(f) + "\n";
  return Sha256Hex(k).substr(0, 16);
}

// The host files a cached arrow packed from the build root (not generated, not mapped: the key
// covers those; not decompressed modules), each as "path<TAB>size mtime_ns inode", one per line:
// written beside the arrow once it is built, compared with the files before it is reused. A
// package upgrade replaces a file (new inode and mtime) even when its size stays the same.
std::string InputsOf(const std::vector<std::string>& paths) {
  std::string out;
  for (const auto& p : paths) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) return "";  // gone: never current
    out += p + "\t" + std::to_string(st.st_size) + " " +
           std::to_string(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec) + " " + std::to_string(st.st_ino) + "\n";
  }
  return out;
}

std::vector<std::string> PackedHostFiles(const std::vector<builder::PackedFile>& files) {
  std::vector<std::string> paths;
  for (const auto& f : files)
    if (f.type == "file" && f.reason.rfind("arrow", 0) != 0 && f.reason.find("[files] map") == std::string::npos &&
        f.reason.rfind("kernel module", 0) != 0)
      paths.push_back(f.path);
  return paths;
}

fs::path InputsFile(const fs::path& arrow) { return arrow.string() + ".inputs"; }

bool StillCurrent(const fs::path& arrow) {
  auto recorded = ReadFile(InputsFile(arrow));
  if (!recorded || recorded->empty()) return false;
  std::vector<std::string> paths;
  size_t start = 0;
  for (size_t nl; (nl = recorded->find('\n', start)) != std::string::npos; start = nl + 1) {
    const size_t tab = recorded->find('\t', start);
    if (tab == std::string::npos || tab > nl) return false;
    paths.push_back(recorded->substr(start, tab - start));
  }
  return InputsOf(paths) == *recorded;
}

}  // namespace

bool IsCatalogName(const std::string& s) {
  return !s.empty() && s.size() <= 128 && s.find('/') == std::string::npos && s.find(':') == std::string::npos &&
         !s.ends_with(".arrow") && !s.ends_with(".recipe") &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::islower(c) || std::isdigit(c) || c == '-' || c == '_' || c == '.';
         });
}

std::vector<fs::path> CatalogDirs() {
  std::vector<fs::path> dirs = {"."};
  if (const char* d = getenv("ARROW_CATALOG"); d && *d) dirs.push_back(d);
  if (const char* x = getenv("XDG_CONFIG_HOME"); x && *x) dirs.push_back(fs::path(x) / "arrow/recipes");
  else if (const char* h = getenv("HOME"); h && *h) dirs.push_back(fs::path(h) / ".config/arrow/recipes");
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(self.parent_path() / "../share/arrow/recipes");
  dirs.push_back(fs::path(ARROW_SOURCE_DIR) / "recipes");
  return dirs;
}

std::optional<fs::path> FindCatalogRecipe(const std::string& name) {
  if (!IsCatalogName(name)) return std::nullopt;
  std::error_code ec;
  for (const auto& d : CatalogDirs())
    if (fs::is_regular_file(d / (name + ".recipe"), ec)) return fs::weakly_canonical(d / (name + ".recipe"), ec);
  return std::nullopt;
}

Result<fs::path> CatalogArrow(const std::string& name, bool quiet) {
  auto path = FindCatalogRecipe(name);
  if (!path) return Err("'", name, "' is not in the catalog (arrow catalog lists it)");
  auto text = ReadFile(*path);
  if (!text) return text.error();
  auto recipe = builder::ParseRecipe(*text, *path);
  if (!recipe) return recipe.error();
  auto key = Key(*recipe, *text);
  if (!key) return key.error();
  const char* own = getenv("ARROW_CATALOG_CACHE");
  const fs::path dir =
      own && *own ? fs::path(own) : builder::KernelBuildEnv::FromEnvironment().cache_dir / "catalog";
  const fs::path out = dir / (recipe->name + "-" + *key + ".arrow");
  std::error_code ec;
  if (fs::exists(out, ec) && StillCurrent(out)) return out;
  fs::create_directories(dir, ec);
  if (ec) return Err("catalog cache ", dir.string(), ": ", ec.message());
  if (!quiet) std::cerr << "arrow: building " << name << " from " << path->string() << " (once; cached in " << dir.string() << ")\n";
  builder::BuildOptions o;
  o.output = out;
  o.init_binary = FindInitBinary();
  if (!quiet) o.progress = [](std::string_view l) { std::cerr << l << "\n"; };
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde) o.mtime = std::strtoll(sde, nullptr, 10);
  auto report = builder::BuildArrow(*recipe, o);
  if (!report) return Err("building ", name, ": ", report.message());
  const std::string inputs = InputsOf(PackedHostFiles(report->files));
  if (auto st = WriteFileAtomic(InputsFile(out), inputs); !st) return Err("catalog cache ", st.message());
  return out;
}

}  // namespace arrow::cli
