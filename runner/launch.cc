// Boot preparation shared by both backends, and the built-in VMM backend; see launch.h.
#include "runner/launch.h"

#include "common/file_util.h"
#include "packer/initramfs.h"

namespace arrow::runner {
namespace {

std::string NulJoin(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + '\0';
  return s;
}

Result<std::string> OverrideArchive(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env) {
  std::vector<packer::CpioEntry> entries;
  for (auto [path, data] :
       {std::pair{".arrow/argv", NulJoin(argv)}, std::pair{".arrow/env", NulJoin(env)}}) {
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
  const packer::Blob* kernel = image.FindLayer(packer::kKernelMediaType);
  const packer::Blob* initrd = image.FindLayer(packer::kInitramfsMediaType);
  if (!kernel || !initrd) return Err("the image has no kernel or no initramfs layer");
  const auto& cfg = image.config_json;
  BootSpec b;
  b.kernel = kernel->data;
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
  for (const auto& c : o.extra_cmdline) b.cmdline += " " + c;
  if (o.args || !o.env.empty()) {
    auto argv = cfg.value("/entrypoint"_json_pointer, std::vector<std::string>{});
    if (argv.empty()) return Err("the image config has no entrypoint to apply the arguments to");
    if (o.args) {
      argv.resize(1);
      argv.insert(argv.end(), o.args->begin(), o.args->end());
    }
    auto env = MergeEnv(cfg.value("/env"_json_pointer, std::vector<std::string>{}), o.env);
    auto extra = OverrideArchive(argv, env);
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
  if (b->net.enabled) {
    auto backend = net::CreateBackend(b->net);
    if (!backend) return backend.error();
    c.net = std::move(*backend);
  }
  return RunVmm(c);
}

}  // namespace arrow::runner
