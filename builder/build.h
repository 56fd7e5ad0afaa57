// The build pipeline: recipe -> dependency closure -> initramfs -> .arrow.
//
// BuildArrow is what `arrow-build` runs. It gathers every problem it can before failing (all
// missing libraries at once), writes nothing unless everything succeeded, and returns a report
// the CLI prints: each packed file with its size and the reason it is there, and the totals.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/kernel_build.h"
#include "builder/recipe.h"
#include "builder/trace.h"
#include "common/result.h"

namespace arrow::builder {

struct BuildOptions {
  std::filesystem::path output;               // the .arrow to write
  std::filesystem::path sysroot = "/";        // build root
  std::filesystem::path init_binary;          // arrow-init to install as /init
  std::filesystem::path kernel_override;      // --kernel; else the recipe's image, else tuned
  std::filesystem::path kernel_source;        // --kernel-source for tuned builds (default: Debian's)
  int kernel_jobs = 0;                        // make -j of a tuned build; 0 = cores
  std::string kernel_format;                  // --kernel-format over [kernel] format; empty = recipe
  std::function<void(std::string_view)> progress;  // kernel build progress lines
  int zstd_level = 19;
  int threads = 0;
  int64_t mtime = 0;                          // SOURCE_DATE_EPOCH or 0
  // A trace image: the candidate set as usual, its kernel with the `trace` fragment added
  // (fanotify), recorded in the config as "trace_image": true. Never an arrow to ship.
  bool trace_image = false;
  // A traced build: [files] include trees are candidates, and the image holds the static
  // closure, the touched candidates ([trace] keep included) and what those need (trace.h).
  const TraceLog* trace = nullptr;
  // A kernel registry (arrow-build --kernel-registry): see KernelBuildEnv::fetch / compiled.
  std::function<Result<bool>(const KernelPlan&, const std::filesystem::path&)> kernel_fetch;
  std::function<void(const KernelArtifact&)> kernel_compiled;
};

struct PackedFile {
  std::string path;
  std::string type;     // "file", "symlink", "dir", "char"
  uint64_t size = 0;
  std::string reason;
  std::string target;   // symlinks
};

struct BuildReport {
  std::vector<PackedFile> files;
  uint64_t file_bytes = 0;        // sum of packed file sizes
  uint64_t initramfs_bytes = 0;   // compressed
  uint64_t cpio_bytes = 0;        // uncompressed archive
  uint64_t kernel_bytes = 0;      // the kernel layer (vmlinux.zst or the bzImage)
  std::string kernel_format;      // "vmlinux" or "bzimage": what the kernel layer holds
  uint64_t rootfs_bytes = 0;      // the EROFS root layer; 0 without one
  std::string root;               // "initramfs" or "erofs": where the app's files are
  uint64_t arrow_bytes = 0;
  std::string kernel_version;
  std::string kernel_origin;      // "tuned: microvm" or "image: /boot/vmlinuz-..."
  // Features arrow-build added to the tuned kernel, with why ({"inet", "/usr/bin/x imports socket"}).
  std::vector<std::pair<std::string, std::string>> kernel_added;
  std::string manifest_digest;
  std::vector<std::string> warnings;  // problems that did not fail the build
  std::optional<TraceMerge> trace;    // a traced build: what the trace contributed
};

// Kernel command line every arrow boots with, before the recipe's own additions.
inline constexpr char kDefaultCmdline[] = "console=ttyS0 quiet panic=-1 reboot=t";

Result<BuildReport> BuildArrow(const Recipe& recipe, const BuildOptions& options);

// How many of `files` are regular files (not directories, symlinks or device nodes).
size_t RegularFileCount(const std::vector<PackedFile>& files);

// The file list as it is recorded in the config blob, and back (for `arrow inspect`).
nlohmann::json FilesToJson(const std::vector<PackedFile>& files);
std::vector<PackedFile> FilesFromJson(const nlohmann::json& j);

}  // namespace arrow::builder
