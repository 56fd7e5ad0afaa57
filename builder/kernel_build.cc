// Kernel build and cache (see kernel_build.h). Cache layout:
//   <cache>/kernels/<key>/{bzImage,vmlinux.zst,config,meta.json}   complete entries, never modified
//   <cache>/kernels/<key>.lock                          flock held while building <key>
//   <cache>/kernels/.tmp-<key>-<pid>/                   a build in progress (or interrupted)
//   <cache>/kernels/src/<digest16>/                     unpacked source tarballs
#include "builder/kernel_build.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "builder/command.h"
#include "builder/file_lock.h"
#include "builder/kernel_image.h"
#include "common/file_util.h"
#include "common/sha256.h"
#include "packer/arrow_file.h"
#include "packer/zstd_writer.h"

#ifndef ARROW_SOURCE_DIR
#define ARROW_SOURCE_DIR "."
#endif

namespace arrow::builder {
namespace fs = std::filesystem;
namespace {

void Say(const KernelBuildEnv& env, const std::string& line) {
  if (env.progress) env.progress(line);
}

std::string UtcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool ValidFragmentName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

Result<KernelArtifact> ReadEntry(const fs::path& dir) {
  auto text = ReadFile(dir / "meta.json");
  if (!text.ok()) return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("version") || !j.contains("config_digest"))
    return Err((dir / "meta.json").string(),
               ": malformed kernel cache entry (delete the directory)");
  KernelArtifact a;
  a.bzimage = dir / "bzImage";
  if (fs::exists(dir / "vmlinux.zst")) a.vmlinux_zst = dir / "vmlinux.zst";
  a.config_file = dir / "config";
  a.key = dir.filename().string();
  a.version = j.value("version", "");
  a.config_digest = j.value("config_digest", "");
  a.created = j.value("created", "");
  if (j.contains("fragments") && j["fragments"].is_array())
    for (const auto& f : j["fragments"])
      if (f.is_string()) a.fragments.push_back(f.get<std::string>());
  return a;
}

// Runs make and keeps the last lines for the error message; `on_line` sees every line.
Status RunMake(const KernelBuildEnv& env, std::vector<std::string> args,
               const std::function<void(std::string_view)>& on_line = {}) {
  std::vector<std::string> argv = env.make.empty() ? std::vector<std::string>{"make"} : env.make;
  argv.insert(argv.end(), args.begin(), args.end());
  std::deque<std::string> tail;
  CommandOptions o;
  // The kernel's reproducible-build knobs: no build time, user or host in the image, so one key
  // gives the same bytes wherever it is compiled (with the same compiler).
  o.env = {"KBUILD_BUILD_TIMESTAMP=1970-01-01 00:00:00 UTC", "KBUILD_BUILD_USER=arrow", "KBUILD_BUILD_HOST=arrow"};
  o.on_line = [&](std::string_view l) {
    tail.emplace_back(l);
    if (tail.size() > 40) tail.pop_front();
    if (on_line) on_line(l);
  };
  auto rc = RunCommand(argv, o);
  if (!rc.ok()) return rc.error();
  if (*rc == 0) return Ok{};
  std::string msg = CommandString(argv) + " failed with exit status " + std::to_string(*rc) + ":";
  for (const auto& l : tail) msg += "\n  " + l;
  return Err(msg);
}

// The stripped ELF vmlinux the bzImage compresses (`objcopy -R .comment -S vmlinux`): every
// PT_LOAD segment and the PVH note, no symbols. It is what both VMMs boot without decompressing.
constexpr char kStrippedVmlinux[] = "arch/x86/boot/compressed/vmlinux.bin";

// vmlinux.bin -> vmlinux.zst, the arrow's kernel layer blob: zstd level 19 with one worker, so one
// key gives the same bytes on every machine. SealEntry checks what it holds, as for a fetched one.
Status CompressVmlinux(const fs::path& in, const fs::path& out) {
  auto bytes = ReadFile(in);
  if (!bytes.ok()) return bytes.error();
  auto w = packer::ZstdFileWriter::Create(out, packer::kMaxKernelZstdLevel, 1);
  if (!w.ok()) return w.error();
  ARROW_TRY(w->Write(*bytes));
  return w->Finish();
}

// tinyconfig + requested fragments, then the build proper, in `build` (make O=).
Status BuildKernelTree(const KernelPlan& plan, const fs::path& src, const fs::path& tmp,
                       const fs::path& build, int jobs, const KernelBuildEnv& env) {
  // `make tinyconfig` is allnoconfig with these fragments; appending ours makes the kernel's
  // own Kconfig merge them in one pass (what merge_config.sh -n does), so every symbol we do
  // not name stays off instead of taking its Kconfig default.
  std::string all;
  for (const char* rel : {"kernel/configs/tiny-base.config", "kernel/configs/tiny.config",
                          "arch/x86/configs/tiny.config"}) {
    if (auto t = ReadFile(src / rel); t.ok()) all += "# " + std::string(rel) + "\n" + *t + "\n";
  }
  all += "# arrow: requested fragments\n" + plan.requested.Text();
  const fs::path allconfig = tmp / "allconfig";
  ARROW_TRY(WriteFileAtomic(allconfig, all));
  std::error_code ec;
  fs::create_directories(build, ec);
  if (ec) return Err(build.string(), ": cannot create: ", ec.message());

  std::string names;
  for (const auto& f : plan.fragments) names += " + " + f;
  Say(env, "[kernel] configuring: tinyconfig" + names);
  const std::string C = "-C" + src.string(), O = "O=" + build.string();
  ARROW_TRY(RunMake(env, {C, O, "KCONFIG_ALLCONFIG=" + allconfig.string(), "allnoconfig"}));
  ARROW_TRY(RunMake(env, {C, O, "olddefconfig"}));
  auto final_config = LoadKernelConfig(build / ".config");
  if (!final_config.ok()) return final_config.error();
  ARROW_TRY(VerifyKernelConfig(plan.requested, *final_config));
  Say(env, "[kernel] all " + std::to_string(plan.requested.size()) +
               " requested options survived Kconfig");

  Say(env, "[kernel] compiling bzImage with -j" + std::to_string(jobs) + " (a few minutes, once)");
  size_t cc = 0;
  auto on_line = [&](std::string_view l) {
    if (l.starts_with("  CC ")) {
      if (++cc % 250 == 0) Say(env, "[kernel] CC " + std::to_string(cc) + " files");
    } else if (l.starts_with("  LD ") && l.ends_with(" vmlinux")) {
      Say(env, "[kernel] CC " + std::to_string(cc) + " files; linking vmlinux");
    } else if (l.find("vmlinux.bin.") != std::string_view::npos && !l.starts_with("  OBJCOPY")) {
      Say(env, "[kernel] compressing the kernel image");
    }
  };
  ARROW_TRY(RunMake(env, {C, O, "-j" + std::to_string(jobs), "bzImage"}, on_line));
  for (const char* out : {"arch/x86/boot/bzImage", kStrippedVmlinux})
    if (!fs::exists(build / out))
      return Err("make bzImage succeeded but ", (build / out).string(), " is missing");
  return Ok{};
}

// Removes a directory tree when it goes out of scope unless released.
struct RemoveOnExit {
  fs::path path;
  ~RemoveOnExit() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

KernelBuildEnv KernelBuildEnv::FromEnvironment() {
  KernelBuildEnv env;
  const char* v = std::getenv("ARROW_KERNEL_CONFIGS");
  env.configs_dir = (v && *v) ? fs::path(v) : fs::path(ARROW_SOURCE_DIR) / "kernel-configs";
  env.cache_dir = DefaultCacheDir();
  return env;
}

Result<fs::path> ResolveKernelFragment(std::string_view name, const KernelBuildEnv& env) {
  const std::string n(name);
  if (n.find('/') != std::string::npos || n.ends_with(".config")) {
    if (!fs::is_regular_file(n)) return Err("kernel config fragment ", n, " not found");
    return fs::absolute(n);
  }
  fs::path p = env.configs_dir / (n + ".config");
  if (ValidFragmentName(n) && fs::is_regular_file(p)) return p;
  std::string avail;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(env.configs_dir, ec))
    if (e.path().extension() == ".config") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  for (const auto& a : names) avail += (avail.empty() ? "" : ", ") + a;
  return Err("unknown kernel config '", n, "' (", env.configs_dir.string(),
             " has: ", avail.empty() ? "nothing" : avail, "; or give a path to your own fragment)");
}

std::string KernelCacheKey(const std::string& source_identity, const KernelConfig& requested,
                           const std::string& compiler) {
  // Bump the version when the way a config is turned into a kernel changes (v2: entries carry
  // vmlinux.zst).
  std::string in = "arrow-kernel-v2\narch x86_64\nbase tinyconfig\nsource " + source_identity +
                   "\ncompiler " + compiler + "\nrequested\n" + requested.Text();
  return Sha256Hex(in).substr(0, 32);
}

Result<KernelPlan> PlanKernel(const KernelSpec& spec, const KernelBuildEnv& env) {
  KernelPlan plan;
  plan.fragments.push_back(spec.config);
  plan.fragments.insert(plan.fragments.end(), spec.features.begin(), spec.features.end());
  for (const auto& f : plan.fragments) {
    auto path = ResolveKernelFragment(f, env);
    if (!path.ok()) return path.error();
    auto cfg = LoadKernelConfig(*path);
    if (!cfg.ok()) return cfg.error();
    plan.requested.Merge(*cfg);
    plan.fragment_files.push_back(*path);
  }
  auto src = IdentifyKernelSource(spec.source, env.cache_dir);
  if (!src.ok()) return src.error();
  plan.source = *src;
  auto ver = CaptureCommand({"gcc", "--version"});
  if (!ver.ok()) return Err("cannot run the kernel's compiler: ", ver.message());
  plan.compiler = ver->substr(0, ver->find('\n'));
  plan.key = KernelCacheKey(plan.source.identity, plan.requested, plan.compiler);
  return plan;
}

Result<std::optional<KernelArtifact>> FindCachedKernel(const KernelSpec& spec,
                                                       const KernelBuildEnv& env) {
  auto plan = PlanKernel(spec, env);
  if (!plan.ok()) return plan.error();
  const fs::path entry = env.cache_dir / "kernels" / plan->key;
  if (!fs::exists(entry / "meta.json")) return std::optional<KernelArtifact>{};
  auto a = ReadEntry(entry);
  if (!a.ok()) return a.error();
  a->hit = true;
  return std::optional<KernelArtifact>(std::move(*a));
}

namespace {

// The bzImage and config in `dir` become the cache entry `entry`: meta.json written ("origin":
// compiled or fetched), then one rename, so an entry is complete or absent.
Result<KernelArtifact> SealEntry(const KernelPlan& plan, const fs::path& dir, const fs::path& entry,
                                 const std::string& origin) {
  auto info = ReadKernelImage(dir / "bzImage");
  if (!info.ok()) return info.error();
  auto vmlinux = ReadFile(dir / "vmlinux.zst");
  if (!vmlinux.ok()) return Err("the kernel's stripped vmlinux: ", vmlinux.message());
  auto elf = packer::ZstdDecompress(*vmlinux, packer::kMaxVmlinuxBytes);
  if (!elf.ok()) return Err((dir / "vmlinux.zst").string(), ": ", elf.message());
  if (!elf->starts_with("\x7f" "ELF\x02"))
    return Err((dir / "vmlinux.zst").string(), ": does not hold a 64-bit ELF vmlinux");
  auto config_text = ReadFile(dir / "config");
  if (!config_text.ok()) return config_text.error();
  std::error_code ec;
  KernelArtifact a;
  a.key = plan.key;
  a.version = info->version;
  a.config_digest = Sha256Digest(*config_text);
  a.fragments = plan.fragments;
  a.created = UtcNow();
  a.pulled = origin == "fetched";
  nlohmann::json meta = {{"version", a.version},           {"config_digest", a.config_digest},
                         {"created", a.created},           {"fragments", a.fragments},
                         {"source", plan.source.identity}, {"compiler", plan.compiler},
                         {"bzimage_size", fs::file_size(dir / "bzImage", ec)},
                         {"vmlinux_size", elf->size()},   {"vmlinux_zst_size", vmlinux->size()},
                         {"origin", origin}};
  ARROW_TRY(WriteFileAtomic(dir / "meta.json", meta.dump(2) + "\n"));
  fs::rename(dir, entry, ec);
  if (ec) return Err(entry.string(), ": cannot move the kernel into the cache: ", ec.message());
  a.bzimage = entry / "bzImage";
  a.vmlinux_zst = entry / "vmlinux.zst";
  a.config_file = entry / "config";
  return a;
}

// A kernel from env.fetch, checked against the plan and moved into the cache as `entry`; nullopt
// (after one line saying why) when there is none or it does not fit.
std::optional<KernelArtifact> FetchIntoCache(const KernelPlan& plan, const KernelBuildEnv& env,
                                             const fs::path& entry) {
  std::error_code ec;
  RemoveOnExit tmp{entry.parent_path() / (".tmp-" + plan.key + "-fetch-" + std::to_string(::getpid()))};
  fs::create_directories(tmp.path, ec);
  if (ec) return std::nullopt;
  auto got = env.fetch(plan, tmp.path);
  if (!got.ok()) {
    Say(env, "[kernel] " + got.message() + "; compiling locally");
    return std::nullopt;
  }
  if (!*got) return std::nullopt;
  auto reject = [&](const std::string& why) {
    Say(env, "[kernel] rejected the fetched kernel " + plan.key + ": " + why + "; compiling locally");
    return std::nullopt;
  };
  auto config = LoadKernelConfig(tmp.path / "config");
  if (!config.ok()) return reject(config.message());
  if (auto st = VerifyKernelConfig(plan.requested, *config); !st.ok()) return reject(st.message());
  auto a = SealEntry(plan, tmp.path, entry, "fetched");
  if (!a.ok()) return reject(a.message());
  tmp.path.clear();
  return std::move(*a);
}

}  // namespace

Result<KernelArtifact> EnsureKernel(const KernelSpec& spec, const KernelBuildEnv& env) {
  auto plan_r = PlanKernel(spec, env);
  if (!plan_r.ok()) return plan_r.error();
  const KernelPlan& plan = *plan_r;
  const fs::path kernels = env.cache_dir / "kernels";
  const fs::path entry = kernels / plan.key;
  // Entries appear by rename() only when complete, so a hit needs no lock.
  if (fs::exists(entry / "meta.json")) {
    auto a = ReadEntry(entry);
    if (a.ok()) a->hit = true;
    return a;
  }
  std::error_code ec;
  fs::create_directories(kernels, ec);
  if (ec) return Err(kernels.string(), ": cannot create the kernel cache: ", ec.message());
  auto lock = FileLock::Acquire(kernels / (plan.key + ".lock"), [&] {
    Say(env, "[kernel] waiting for another build of the same kernel (" + plan.key + ")");
  });
  if (!lock.ok()) return lock.error();
  if (fs::exists(entry / "meta.json")) {  // built by whoever held the lock
    auto a = ReadEntry(entry);
    if (a.ok()) a->hit = true;
    return a;
  }
  // Leftovers of interrupted builds of this key: nobody else can be building it now.
  for (const auto& e : fs::directory_iterator(kernels, ec))
    if (e.path().filename().string().starts_with(".tmp-" + plan.key)) fs::remove_all(e.path(), ec);

  if (env.fetch) {
    if (auto pulled = FetchIntoCache(plan, env, entry)) return std::move(*pulled);
  }
  const auto t0 = std::chrono::steady_clock::now();
  Say(env, "[kernel] building " + plan.key + " from " + plan.source.path.string());
  auto src = UnpackKernelSource(plan.source, env.cache_dir,
                                [&](std::string_view l) { Say(env, std::string(l)); });
  if (!src.ok()) return src.error();

  RemoveOnExit tmp{kernels / (".tmp-" + plan.key + "-" + std::to_string(::getpid()))};
  fs::create_directories(tmp.path, ec);
  if (ec) return Err(tmp.path.string(), ": cannot create: ", ec.message());
  int jobs = spec.jobs > 0 ? spec.jobs
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const fs::path build = tmp.path / "build";
  ARROW_TRY(BuildKernelTree(plan, src->dir, tmp.path, build, jobs, env));

  fs::copy_file(build / "arch/x86/boot/bzImage", tmp.path / "bzImage", ec);
  if (!ec) fs::copy_file(build / ".config", tmp.path / "config", ec);
  if (ec) return Err(tmp.path.string(), ": cannot copy build outputs: ", ec.message());
  Say(env, "[kernel] compressing the stripped vmlinux (zstd 19) for the arrow's kernel layer");
  ARROW_TRY(CompressVmlinux(build / kStrippedVmlinux, tmp.path / "vmlinux.zst"));
  fs::remove_all(build, ec);
  fs::remove(tmp.path / "allconfig", ec);
  auto sealed = SealEntry(plan, tmp.path, entry, "compiled");
  if (!sealed.ok()) return sealed.error();
  tmp.path.clear();
  KernelArtifact& a = *sealed;
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char took[32];
  std::snprintf(took, sizeof took, "%.0f", secs);
  Say(env, "[kernel] built " + a.version + " (" + std::to_string(fs::file_size(a.bzimage, ec)) +
               " bytes) in " + took + " s -> " + a.bzimage.string());
  if (env.compiled) env.compiled(a);
  return a;
}

Result<std::vector<KernelArtifact>> ListCachedKernels(const KernelBuildEnv& env) {
  std::vector<KernelArtifact> out;
  const fs::path kernels = env.cache_dir / "kernels";
  std::error_code ec;
  if (!fs::exists(kernels)) return out;
  for (const auto& e : fs::directory_iterator(kernels, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.starts_with(".") || name == "src") continue;
    if (!fs::exists(e.path() / "meta.json")) continue;
    auto a = ReadEntry(e.path());
    if (!a.ok()) return a.error();
    a->hit = true;
    out.push_back(std::move(*a));
  }
  if (ec) return Err(kernels.string(), ": ", ec.message());
  std::sort(out.begin(), out.end(), [](const KernelArtifact& x, const KernelArtifact& y) {
    return std::tie(x.created, x.key) < std::tie(y.created, y.key);
  });
  return out;
}

namespace {

uint64_t TreeBytes(const fs::path& p) {
  std::error_code ec;
  uint64_t n = 0;
  if (!fs::is_directory(p, ec)) return fs::is_regular_file(p, ec) ? fs::file_size(p, ec) : 0;
  for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) n += it->file_size(ec);
  return n;
}

// Moves `p` aside (one rename, so it vanishes at once) and deletes it.
Status RemoveTree(const fs::path& p) {
  std::error_code ec;
  const fs::path aside =
      p.parent_path() / (".prune-" + p.filename().string() + "-" + std::to_string(::getpid()));
  fs::rename(p, aside, ec);
  if (ec) return Err(p.string(), ": cannot remove: ", ec.message());
  fs::remove_all(aside, ec);
  if (ec) return Err(aside.string(), ": cannot remove: ", ec.message());
  return Ok{};
}

}  // namespace

Result<PruneResult> PruneKernelCache(const KernelBuildEnv& env, bool built_kernels) {
  PruneResult r;
  const fs::path kernels = env.cache_dir / "kernels";
  std::error_code ec;
  if (!fs::exists(kernels, ec)) return r;
  // `dir` goes if nobody holds `lock`: builds hold it (exclusive) while building a key or
  // unpacking a source, and (shared) while compiling from an unpacked source.
  auto take = [&](const fs::path& dir, const fs::path& lock) -> Status {
    auto held = FileLock::TryAcquire(lock);
    if (!held.ok()) return held.error();
    if (!*held) {
      r.busy.push_back(dir.string());
      return Ok{};
    }
    const uint64_t bytes = TreeBytes(dir);
    ARROW_TRY(RemoveTree(dir));
    r.bytes += bytes;
    r.removed.push_back(dir.string());
    return Ok{};
  };
  std::vector<fs::path> names;
  for (const fs::path& dir : {kernels / "src", kernels}) {
    names.clear();
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_directory() && !e.is_symlink()) names.push_back(e.path());
    if (ec && ec != std::errc::no_such_file_or_directory)
      return Err(dir.string(), ": ", ec.message());
    ec.clear();
    std::sort(names.begin(), names.end());
    const bool is_src = dir.filename() == "src";
    for (const auto& p : names) {
      const std::string name = p.filename().string();
      // A tree is locked under its own name; a leftover "<prefix><owner>-<pid>" (a running or
      // interrupted build or unpack, an interrupted prune) under its owner's (a key or a source
      // name, neither holds '-').
      std::string owner = name;
      for (std::string_view prefix : {".tmp-", ".prune-"})
        if (name.starts_with(prefix))
          owner = name.substr(prefix.size(), name.find('-', prefix.size()) - prefix.size());
      if (owner != name || is_src || (built_kernels && name != "src"))
        ARROW_TRY(take(p, dir / (owner + ".lock")));
    }
  }
  // The runner's decompressed vmlinux layers go with the kernels: they are remade on the next
  // run (one already booting keeps its open file).
  const fs::path vmlinux = env.cache_dir / "vmlinux";
  if (built_kernels && fs::is_directory(vmlinux, ec)) {
    const uint64_t bytes = TreeBytes(vmlinux);
    ARROW_TRY(RemoveTree(vmlinux));
    r.bytes += bytes;
    r.removed.push_back(vmlinux.string());
  }
  return r;
}

}  // namespace arrow::builder
