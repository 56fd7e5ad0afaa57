// Which kernel an arrow boots: a tuned one built from kernel-configs/ (the default, cached by
// content) or a prebuilt image named by the recipe or --kernel, with the modules the recipe
// lists (and their dependencies) packed for arrow-init to load in order.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/kernel_build.h"
#include "builder/recipe.h"
#include "common/result.h"

namespace arrow::builder {

struct KernelChoiceOptions {
  std::filesystem::path sysroot = "/";       // where /lib/modules/<version> is looked up
  std::filesystem::path image_override;      // --kernel
  std::filesystem::path source;              // --kernel-source (dir or tarball); empty = default
  int jobs = 0;                              // make -j for a tuned build; 0 = cores
  std::function<void(std::string_view)> progress;
  bool needs_block = false;  // an EROFS root layer: the tuned kernel gets `block`
  bool trace = false;        // a trace image: `trace` (fanotify) last, after the automatic ones
  // Why the packed programs may use IPv4 (Closure::Ipv4User), empty if none may: the tuned
  // kernel gets `inet` (TCP/UDP over lo) unless its fragments have IPv4 already (`net` has).
  std::string ipv4_user;
  std::string format;        // --kernel-format: "vmlinux" or "bzimage" over the recipe's; empty = recipe
  // A kernel registry's hooks for a tuned kernel the cache lacks (KernelBuildEnv).
  std::function<Result<bool>(const KernelPlan&, const std::filesystem::path&)> kernel_fetch;
  std::function<void(const KernelArtifact&)> kernel_compiled;
};

struct PackedModule {
  std::string guest_path;           // "/lib/modules/6.1.0-56-amd64/kernel/arch/x86/kvm/kvm.ko"
  std::filesystem::path host_path;  // decompressed copy in the scratch directory
  std::string name;                 // "kvm"
};

struct ChosenKernel {
  std::filesystem::path bzimage;
  // Tuned kernels in the "vmlinux" format: the cached stripped ELF vmlinux, zstd-compressed,
  // which becomes the kernel layer instead of the bzImage. Empty: the bzImage is the layer.
  std::filesystem::path vmlinux_zst;
  std::string version;        // "6.1.192", "6.1.0-56-amd64"
  std::string release;        // the whole kernel_version string of the header
  std::string config_digest;  // "sha256:..." of the tuned .config; empty for a prebuilt image
  std::string origin;         // "tuned: microvm+net" or "image: /boot/vmlinuz-..."
  std::vector<PackedModule> modules;  // load order
  // Whether the kernel drives a virtio-net NIC on virtio-mmio: known for tuned kernels (their
  // .config), unknown for prebuilt images (the runner then adds a NIC only when asked to).
  std::optional<bool> virtio_net;
  std::optional<bool> virtio_blk;  // the same for virtio-blk (volumes, the EROFS root)
  bool erofs_root = false;         // tuned, with virtio-blk, EROFS and overlayfs
  std::optional<bool> inet;        // tuned: CONFIG_INET (IPv4, loopback included); unknown for images
  std::vector<std::string> features;  // tuned: the fragments added to the base, in order
  // The features arrow-build added to the recipe's, each with why: {"inet", "/usr/bin/x imports socket"}.
  std::vector<std::pair<std::string, std::string>> added;
};

// The fragments a tuned kernel gets on top of the base config: the recipe's [kernel] features,
// then `net`, `inet`, `block` and `trace` as the recipe and options call for them (see below),
// each of those recorded in `added` with why. `requests_ipv4(features)` tells whether the base
// config with those fragments asks for CONFIG_INET=y already (then `inet` is not added).
std::vector<std::string> TunedKernelFeatures(
    const Recipe& recipe, const KernelChoiceOptions& options,
    const std::function<bool(const std::vector<std::string>&)>& requests_ipv4,
    std::vector<std::pair<std::string, std::string>>* added);

// Modules are decompressed into `scratch` (a directory the caller owns). A recipe that declares
// ports gets the `net` fragment added to its tuned kernel when it does not name it; one whose
// programs may use IPv4 (options.ipv4_user) gets `inet` unless its fragments have IPv4 already
// (`net` has); one that declares volumes (or options.needs_block) gets `block`.
Result<ChosenKernel> ChooseKernel(const Recipe& recipe, const KernelChoiceOptions& options,
                                  const std::filesystem::path& scratch);

}  // namespace arrow::builder
