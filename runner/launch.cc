// Boot preparation shared by both backends, and the built-in VMM backend; see launch.h.
#include "runner/launch.h"
#include "runner/stop.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/file_util.h"
#include "common/guest_path.h"
#include "packer/initramfs.h"
#include "runner/kernel_layer.h"

namespace arrow::runner {
namespace {

std::string NulJoin(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + '\0';
  return s;
}

// `files`: path inside the image (without the leading /) -> contents.
Result<std::string> OverrideArchive(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<packer::CpioEntry> entries;
  for (const auto& [path, data] : files) {
    packer::CpioEntry e;
    e.path = path;
    e.mode = 0644;
    e.data = data;
    entries.push_back(std::move(e));
  }
  auto tmp = TempDir::Create("arrow-run");
  if (!tmp) return tmp.error();
  packer::PackOptions po;
  po.zstd_level = 3;
  po.threads = 1;
  auto stats = packer::WriteInitramfs(std::move(entries), tmp->path() / "override.cpio.zst", po);
  if (!stats) return stats.error();
  return ReadFile(tmp->path() / "override.cpio.zst");
}

// -v flags and the image's declared volumes -> disks, and the mounts arrow-init makes.
Status PlanVolumes(const nlohmann::json& cfg, const RunOptions& o, BootSpec* b,
                   std::vector<GuestMount>* mounts) {
  std::vector<VolumeFlag> flags;
  for (const auto& text : o.volumes) {
    auto v = ParseVolumeFlag(text);
    if (!v) return v.error();
    flags.push_back(std::move(*v));
  }
  std::vector<std::string> declared;
  if (auto it = cfg.find("volumes"); it != cfg.end() && it->is_array())
    for (const auto& d : *it)
      if (d.is_string()) declared.push_back(d.get<std::string>());
  std::vector<std::pair<std::string, std::string>> all;  // guest path, what mounts it
  for (const auto& f : flags) all.push_back({f.guest, "-v " + f.host});
  for (const auto& d : declared)
    if (std::none_of(flags.begin(), flags.end(), [&](const VolumeFlag& f) { return f.guest == d; }))
      all.push_back({d, "the declared volume " + d});
  for (size_t i = 0; i < all.size(); i++)
    for (size_t j = i + 1; j < all.size(); j++) {
      const auto& [pa, wa] = all[i];
      const auto& [pb, wb] = all[j];
      if (pa == pb) return Err(wb, ": ", pb, " is mounted twice (also by ", wa, ")");
      if (PathWithin(pa, pb) || PathWithin(pb, pa)) {
        const bool b_in_a = PathWithin(pa, pb);
        return Err(b_in_a ? wb : wa, ": ", b_in_a ? pb : pa, " is inside ", b_in_a ? wa : wb,
                   " at ", b_in_a ? pa : pb, "; volumes cannot nest");
      }
    }
  const auto vb = cfg.value("/kernel/virtio_blk"_json_pointer, nlohmann::json());
  if (!flags.empty() && vb.is_boolean() && !vb.get<bool>())
    return Err("this arrow's kernel has no virtio-blk driver, so it cannot mount -v ", flags[0].host,
               ": rebuild it with [app] volumes = [\"", flags[0].guest,
               "\"] or [kernel] features = [\"block\"]");
  for (size_t i = 0; i < flags.size(); i++) {
    auto file = DiskFile::OpenVolume(flags[i]);
    if (!file) return file.error();
    DiskSpec d;
    d.file = std::make_shared<DiskFile>(std::move(*file));
    d.serial = VolumeSerial(i);
    d.read_only = flags[i].read_only;
    d.host = flags[i].host;
    b->disks.push_back(std::move(d));
    mounts->push_back({flags[i].read_only ? GuestMount::Kind::kExt4ReadOnly : GuestMount::Kind::kExt4,
                       VolumeSerial(i), flags[i].guest,
                       std::filesystem::path(flags[i].host).filename().string()});
  }
  for (size_t i = flags.size(); i < all.size(); i++) {  // the declared volumes without -v
    const std::string& path = all[i].first;
    mounts->push_back({GuestMount::Kind::kTmpfs, "", path, "tmpfs"});
    b->notes.push_back("volume " + path + " has no -v: it is an ephemeral tmpfs (its data is "
                       "lost when the VM stops)");
  }
  return Ok{};
}

}  // namespace

std::vector<std::string> MergeEnv(std::vector<std::string> base,
                                  const std::vector<std::string>& overrides) {
  for (const auto& kv : overrides) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    bool replaced = false;
    for (auto& b : base)
      if (b.compare(0, key.size(), key) == 0) {
        b = kv;
        replaced = true;
      }
    if (!replaced) base.push_back(kv);
  }
  return base;
}

Result<BootSpec> PrepareBoot(const packer::ArrowImage& image, const RunOptions& o) {
  const packer::Blob* initrd = image.FindLayer(packer::kInitramfsMediaType);
  if (!initrd) return Err("the image has no kernel or no initramfs layer");
  auto kernel = LoadKernelLayer(image, o.kernel_cache.value_or(DefaultCacheDir() / "vmlinux"));
  if (!kernel) return kernel.error();
  const auto& cfg = image.config_json;
  BootSpec b;
  if (const packer::Blob* root = image.FindLayer(packer::kRootfsMediaType)) {
    if (root->data.size() % 512)
      return Err("the EROFS root layer (", std::to_string(root->data.size()), " bytes) is not a multiple of 512 bytes");
    auto file = DiskFile::SealedMemory("arrow-root", root->data);
    if (!file) return file.error();
    DiskSpec d;
    d.file = std::make_shared<DiskFile>(std::move(*file));
    d.serial = kRootSerial;
    d.read_only = true;
    d.host = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(d.file->fd());
    b.disks.push_back(std::move(d));
  }
  std::vector<GuestMount> mounts;
  ARROW_TRY(PlanVolumes(cfg, o, &b, &mounts));
  b.kernel = std::move(kernel->bytes);
  b.kernel_file = kernel->file.string();
  b.vmlinux = kernel->vmlinux;
  b.pvh_note = kernel->pvh_note;
  b.initrd = initrd->data;
  b.memory = o.memory.value_or(cfg.value("/vm/memory"_json_pointer, uint64_t{128} << 20));
  b.cpus = o.cpus.value_or(cfg.value("/vm/cpus"_json_pointer, 1));
  b.tuned_kernel = cfg.contains("/kernel/config_digest"_json_pointer) &&
                   cfg.at("/kernel/config_digest"_json_pointer).is_string();
  b.cmdline = cfg.value("/kernel/cmdline"_json_pointer, std::string("console=ttyS0"));
  if (o.quiet) b.cmdline += " quiet loglevel=0";
  auto plan = net::PlanNetwork(cfg, o.net);
  if (!plan) return plan.error();
  b.net = std::move(*plan);
  if (auto g = b.net.GuestCmdline(); !g.empty()) b.cmdline += " " + g;
  b.cmdline += std::string(" ") + kControlCmdline;
  if (!o.trace_out.empty()) b.cmdline += " arrow.trace=1";
  for (const auto& c : o.extra_cmdline) b.cmdline += " " + c;
  std::vector<std::pair<std::string, std::string>> files;
  if (o.args || !o.env.empty()) {
    auto argv = cfg.value("/entrypoint"_json_pointer, std::vector<std::string>{});
    if (argv.empty()) return Err("the image config has no entrypoint to apply the arguments to");
    if (o.args) {
      argv.resize(1);
      argv.insert(argv.end(), o.args->begin(), o.args->end());
    }
    auto env = MergeEnv(cfg.value("/env"_json_pointer, std::vector<std::string>{}), o.env);
    files.push_back({".arrow/argv", NulJoin(argv)});
    files.push_back({".arrow/env", NulJoin(env)});
  }
  if (!mounts.empty()) files.push_back({".arrow/volumes", EncodeGuestMounts(mounts)});
  if (!files.empty()) {
    auto extra = OverrideArchive(files);
    if (!extra) return extra.error();
    b.initrd.resize((b.initrd.size() + 3) & ~size_t{3}, '\0');  // zero padding between archives
    b.initrd += *extra;
  }
  return b;
}

Result<VmmResult> RunWithBuiltin(const packer::ArrowImage& image, const RunOptions& o) {
  auto b = PrepareBoot(image, o);
  if (!b) return b.error();
  VmmConfig c;
  c.kind = GuestKind::kLinux;
  c.kernel = b->kernel;
  c.initrd = b->initrd;
  c.cmdline = b->cmdline + " " + kBuiltinCmdline;
  c.memory = b->memory;
  c.cpus = b->cpus;
  c.timeout = o.timeout;
  c.console_input = o.console_input;
  c.control_channel = true;
  c.stop_timeout = o.stop_timeout;
  c.on_guest_up = o.on_guest_up;
  c.on_ready = o.on_ready;
  auto trace = TraceFile::Sink(o.trace_out);
  if (!trace) return trace.error();
  c.on_trace = std::move(*trace);
  c.jail = o.jail;
  c.jail.resolv_conf = b->net.enabled && b->net.mode == "user";  // libslirp's DNS forwarding
  if (!c.jail.seccomp)
    fprintf(stderr, "arrow-run: warning: --no-seccomp: the VMM runs without its syscall filters "
                    "(for debugging only; a guest that escapes KVM gets every system call)\n");
  if (b->net.enabled) {
    auto backend = net::CreateBackend(b->net);
    if (!backend) return backend.error();
    c.net = std::move(*backend);
  }
  for (const auto& d : b->disks) {
    virtio::BlockDisk disk;
    disk.fd = d.file->fd();
    disk.size = d.file->size() & ~uint64_t{511};
    disk.read_only = d.read_only;
    disk.serial = d.serial;
    c.disks.push_back(std::move(disk));
  }
  if (!o.quiet)
    for (const auto& n : b->notes) fprintf(stderr, "arrow-run: %s\n", n.c_str());
  return RunVmm(c);
}

}  // namespace arrow::runner
