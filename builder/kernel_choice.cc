// Kernel selection for a build; see kernel_choice.h.
#include "builder/kernel_choice.h"

#include <algorithm>

#include "builder/kernel_build.h"
#include "builder/kernel_config.h"
#include "builder/kernel_image.h"
#include "builder/kernel_modules.h"
#include "common/file_util.h"

namespace arrow::builder {
namespace fs = std::filesystem;

namespace {


Status AddModules(const Recipe& r, const KernelChoiceOptions& o, const fs::path& scratch,
                  ChosenKernel* k) {
  if (r.kernel.modules.empty()) return Ok{};
  const fs::path dir = o.sysroot / "lib/modules" / k->version;
  auto set = ResolveModules(dir, r.kernel.modules);
  if (!set) return Err("[kernel] modules: ", set.message());
  // Pack them where they are in the root after its symlinks (/lib -> usr/lib on usr-merged
  // systems): the image may already hold /lib as a link, and a file can't sit below a link.
  std::error_code ec;
  fs::path root = fs::canonical(o.sysroot, ec);
  fs::path real = fs::canonical(dir, ec);
  std::string guest_dir = "/lib/modules/" + k->version;
  if (!ec && real.string().rfind(root.string(), 0) == 0)
    guest_dir = "/" + real.lexically_relative(root).string();
  for (const auto& m : set->load_order) {
    const fs::path dest = scratch / "modules" / m.packed_relative;
    fs::create_directories(dest.parent_path(), ec);
    ARROW_TRY(DecompressModule(m, dest));
    k->modules.push_back(
        {guest_dir + "/" + m.packed_relative, dest, m.name});
  }
  return Ok{};
}

}  // namespace

std::vector<std::string> TunedKernelFeatures(
    const Recipe& r, const KernelChoiceOptions& o,
    const std::function<bool(const std::vector<std::string>&)>& requests_ipv4,
    std::vector<std::pair<std::string, std::string>>* added) {
  std::vector<std::string> features = r.kernel.features;
  auto has = [&](std::string_view f) { return std::find(features.begin(), features.end(), f) != features.end(); };
  auto add = [&](std::string f, std::string why) {
    features.push_back(f);
    added->emplace_back(std::move(f), std::move(why));
  };
  if (!r.app.ports.empty() && !has("net")) add("net", "the recipe publishes ports");  // a server needs its NIC
  // IPv4 (over lo) for programs that can open a socket, unless a fragment has it (`net` does).
  if (!o.ipv4_user.empty() && !has("inet") && !requests_ipv4(features)) add("inet", o.ipv4_user);
  // Volumes and the EROFS root are virtio-blk disks.
  if (!r.app.volumes.empty() && !has("block")) add("block", "the recipe declares volumes");
  if (o.needs_block && !has("block")) add("block", "the root is an EROFS layer");
  if (o.trace && !has("trace")) add("trace", "a trace image watches file accesses with fanotify");
  return features;
}

Result<ChosenKernel> ChooseKernel(const Recipe& r, const KernelChoiceOptions& o,
                                  const fs::path& scratch) {
  ChosenKernel k;
  if (!o.image_override.empty() || !r.kernel.image.empty()) {
    if (o.format == "vmlinux")
      return Err("--kernel-format vmlinux needs a tuned kernel: a prebuilt image is stored as its bzImage");
    k.bzimage = o.image_override.empty() ? RecipePath(r, r.kernel.image) : o.image_override;
    k.origin = "image: " + k.bzimage.string();
  } else {
    KernelSpec spec;
    if (!r.kernel.config.empty()) spec.config = r.kernel.config;
    KernelBuildEnv env = KernelBuildEnv::FromEnvironment();
    // A fragment path in a recipe is relative to the recipe, like [files] map sources.
    auto fragment = [&](const std::string& f) {
      bool is_path = f.find('/') != std::string::npos || f.ends_with(".config");
      return is_path ? RecipePath(r, f).string() : f;
    };
    auto requests_ipv4 = [&](const std::vector<std::string>& features) {
      KernelConfig requested;
      std::vector<std::string> names = {spec.config};
      for (const auto& f : features) names.push_back(fragment(f));
      for (const auto& n : names) {
        auto path = ResolveKernelFragment(n, env);
        auto cfg = path ? LoadKernelConfig(*path) : Result<KernelConfig>(path.error());
        if (!cfg) return true;  // the build itself reports the broken fragment
        requested.Merge(*cfg);
      }
      return requested.ValueOf("CONFIG_INET") == "y";
    };
    const std::vector<std::string> features = TunedKernelFeatures(r, o, requests_ipv4, &k.added);
    for (const auto& f : features) spec.features.push_back(fragment(f));
    spec.source = o.source;
    spec.jobs = o.jobs;
    env.progress = o.progress;
    env.fetch = o.kernel_fetch;
    env.compiled = o.kernel_compiled;
    auto art = EnsureKernel(spec, env);
    if (!art) return Err("tuned kernel '", spec.config, "': ", art.message());
    k.bzimage = art->bzimage;
    k.config_digest = art->config_digest;
    k.origin = "tuned: " + spec.config;
    for (const auto& f : features) k.origin += "+" + f;
    k.features = features;
    auto cfg = ReadFile(art->config_file);
    if (!cfg) return cfg.error();
    const bool mmio = cfg->find("\nCONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y") != std::string::npos;
    k.virtio_net = mmio && cfg->find("\nCONFIG_VIRTIO_NET=y") != std::string::npos;
    k.virtio_blk = mmio && cfg->find("\nCONFIG_VIRTIO_BLK=y") != std::string::npos;
    k.inet = cfg->find("\nCONFIG_INET=y") != std::string::npos;
    const std::string format = o.format.empty() ? r.kernel.format : o.format;
    if (format == "vmlinux") {
      if (art->vmlinux_zst.empty())
        return Err("kernel cache entry ", art->bzimage.parent_path().string(),
                   " has no vmlinux.zst (made by an older arrow-build): delete it to rebuild");
      // qemu boots a vmlinux only through its PVH entry; the built-in VMM needs none.
      if (cfg->find("\nCONFIG_PVH=y") == std::string::npos)
        return Err("tuned kernel '", spec.config, "': its config lacks CONFIG_PVH=y, without which qemu "
                   "cannot boot the vmlinux: add it to the fragment or set [kernel] format = \"bzimage\"");
      k.vmlinux_zst = art->vmlinux_zst;
    } else if (format != "bzimage") {
      return Err("kernel format '", format, "': expected vmlinux or bzimage");
    }
    k.erofs_root = k.virtio_blk.value_or(false) &&
                   cfg->find("\nCONFIG_EROFS_FS=y") != std::string::npos &&
                   cfg->find("\nCONFIG_OVERLAY_FS=y") != std::string::npos;
  }
  auto info = ReadKernelImage(k.bzimage);
  if (!info) return info.error();
  if (!info->kernel64)
    return Err(k.bzimage.string(), ": the kernel has no 64-bit entry point (XLF_KERNEL_64)");
  k.version = info->version;
  k.release = info->version_full;
  ARROW_TRY(AddModules(r, o, scratch, &k));
  return k;
}

}  // namespace arrow::builder
