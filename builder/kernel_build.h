// Tuned guest kernels: kernel-configs/ fragments -> a bzImage in a content-addressed cache.
//
// EnsureKernel resolves the base config and feature fragments, merges them, and looks up
// <cache>/kernels/<key>/ where key = sha256(source identity, merged requested config, compiler
// version). On a miss it builds under a per-key flock: the kernel's tinyconfig recipe
// (`make allnoconfig` with KCONFIG_ALLCONFIG = tiny-base + tiny fragments + ours, which is what
// `merge_config.sh -n` runs), `make olddefconfig`, verification that every requested option
// survived Kconfig, then `make bzImage` in a temp dir beside the entry, renamed into place only
// when complete: concurrent builds of one key build once, an interrupted build leaves no entry,
// and a hit costs a few stat()s, one `gcc --version` and a JSON read.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/kernel_config.h"
#include "builder/kernel_source.h"
#include "common/result.h"

namespace arrow::builder {

struct KernelSpec {
  std::string config = "microvm";     // base: a name in kernel-configs/ or a path to a fragment
  std::vector<std::string> features;  // fragments applied in order: names ("net") or paths
  std::filesystem::path source;       // dir or tarball; empty = kDefaultKernelSource
  int jobs = 0;                       // make -j; 0 = number of online CPUs
};

struct KernelArtifact {
  std::filesystem::path bzimage;       // <cache>/kernels/<key>/bzImage
  // <cache>/kernels/<key>/vmlinux.zst: the stripped ELF vmlinux, zstd-compressed (the arrow's
  // kernel layer); empty for an entry made before kernels carried one.
  std::filesystem::path vmlinux_zst;
  std::filesystem::path config_file;   // <cache>/kernels/<key>/config (the final .config)
  std::string version;                 // kernel release from the bzImage header, "6.1.192"
  std::string config_digest;           // "sha256:<hex>" of the final .config
  std::string key;                     // cache key (32 hex chars)
  std::vector<std::string> fragments;  // what was requested, "microvm", "net", "/path/x.config"
  std::string created;                 // UTC, "2026-11-27T04:12:00Z"
  bool hit = false;                    // true when no build ran
  bool pulled = false;                 // installed from KernelBuildEnv::fetch, not compiled
};

struct KernelPlan;

struct KernelBuildEnv {
  std::filesystem::path configs_dir;                    // where fragment names are looked up
  std::filesystem::path cache_dir;                      // kernels live in <cache_dir>/kernels/
  std::function<void(std::string_view line)> progress;  // one line per phase; may be empty
  // The make program (tests substitute a fake); empty = {"make"}.
  std::vector<std::string> make;
  // On a miss, before compiling (under the key's lock): may put the kernel's `bzImage`,
  // `vmlinux.zst` and final `config` into `dir` (a kernel registry does) and return true. They
  // are checked against the plan (a readable bzImage, a vmlinux.zst holding a 64-bit ELF, every
  // requested option in the config) and installed instead of compiling. false, an error, or a
  // rejected kernel: one line says so and the kernel is compiled; a kernel cache never fails a
  // build.
  std::function<Result<bool>(const KernelPlan& plan, const std::filesystem::path& dir)> fetch;
  // After a kernel was compiled and cached (arrow-build --kernel-push publishes it).
  std::function<void(const KernelArtifact&)> compiled;

  // configs_dir: $ARROW_KERNEL_CONFIGS, else ARROW_SOURCE_DIR "/kernel-configs" (compile time).
  // cache_dir: $ARROW_CACHE_DIR, else $XDG_CACHE_HOME/arrow, else ~/.cache/arrow.
  static KernelBuildEnv FromEnvironment();
};

// Everything that determines a kernel, computed without building.
struct KernelPlan {
  std::vector<std::filesystem::path> fragment_files;  // resolved, in merge order
  std::vector<std::string> fragments;                 // as named in the spec
  KernelConfig requested;                             // merged fragments
  KernelSource source;
  std::string compiler;  // first line of `gcc --version`
  std::string key;
};

// "net" -> <configs_dir>/net.config; anything with a '/' or ending in ".config" is a path.
Result<std::filesystem::path> ResolveKernelFragment(std::string_view name,
                                                    const KernelBuildEnv& env);
Result<KernelPlan> PlanKernel(const KernelSpec& spec, const KernelBuildEnv& env);
// The key of a plan's inputs; exposed for tests of stability and invalidation.
std::string KernelCacheKey(const std::string& source_identity, const KernelConfig& requested,
                           const std::string& compiler);

// Returns the cached kernel for `spec`, building it first on a miss.
Result<KernelArtifact> EnsureKernel(const KernelSpec& spec, const KernelBuildEnv& env);
// The cached kernel for `spec` if it has been built (no build), for `arrow kernel path`.
Result<std::optional<KernelArtifact>> FindCachedKernel(const KernelSpec& spec,
                                                       const KernelBuildEnv& env);
struct PruneResult {
  uint64_t bytes = 0;                // freed
  std::vector<std::string> removed;  // directories removed
  std::vector<std::string> busy;     // in use by a running build: left alone
};
// Frees the cache's disk: the unpacked source trees (1.5 GB for linux-source-6.1; the next
// cold build unpacks again) and leftovers of interrupted builds, plus, with `built_kernels`,
// every built kernel and the runner's decompressed vmlinux layers (<cache>/vmlinux/). What a
// running build holds is skipped and listed as busy.
Result<PruneResult> PruneKernelCache(const KernelBuildEnv& env, bool built_kernels);

// Every complete entry in the cache, oldest first.
Result<std::vector<KernelArtifact>> ListCachedKernels(const KernelBuildEnv& env);

}  // namespace arrow::builder
