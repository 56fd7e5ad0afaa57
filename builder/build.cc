// BuildArrow: ties the recipe, the dependency closure, the packer and the .arrow writer together.
//
// The image layout it produces (docs/architecture.md, "Guest contract"): the traced files at
// their own paths, /init (arrow-init), /dev/console, empty mount points, and
// /.arrow/{argv,env,workdir} which arrow-init reads. Reproducible: nothing host-specific (paths,
// times, users) reaches the output; all times come from options.mtime.
#include "builder/build.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "builder/closure.h"
#include "builder/elf.h"
#include "builder/kernel_choice.h"
#include "builder/user.h"
#include "common/file_util.h"
#include "common/sha256.h"
#include "packer/arrow_file.h"
#include "packer/erofs.h"
#include "packer/initramfs.h"

namespace arrow::builder {
namespace fs = std::filesystem;
using packer::CpioEntry;

namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<std::string> SplitPathList(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ':' || c == ';') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::string NulJoin(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out.append(s).push_back('\0');
  return out;
}

// The environment the app gets: the recipe's, with PATH and HOME defaulted like a container.
std::map<std::string, std::string> AppEnv(const Recipe& r) {
  auto env = r.app.env;
  env.emplace("PATH", kDefaultPath);
  env.emplace("HOME", "/");
  return env;
}


// Paths Arrow itself owns inside the image; the app may not ship its own.
bool Reserved(const std::string& guest) {
  return guest == "/init" || guest == "/.arrow" || guest.rfind("/.arrow/", 0) == 0 ||
         guest == "/dev/console";
}

Result<std::vector<CpioEntry>> EntriesFromClosure(const Closure& closure,
                                                  std::vector<PackedFile>* files) {
  std::vector<CpioEntry> entries;
  for (const auto& [path, node] : closure.nodes()) {
    if (path == "/") continue;
    if (Reserved(path)) return Err(path, ": this path is reserved for Arrow's init inside the image");
    CpioEntry e;
    e.path = path.substr(1);
    PackedFile pf{path, "", 0, node.reason, ""};
    struct stat st {};
    if (lstat(node.source.c_str(), &st) != 0 && node.kind != NodeKind::kSymlink)
      return Err(node.source, ": cannot stat: ", std::strerror(errno));
    switch (node.kind) {
      case NodeKind::kFile:
        e.type = CpioEntry::Type::kFile;
        e.source = node.source;
        e.mode = st.st_mode & 07777;
        pf.type = "file";
        pf.size = static_cast<uint64_t>(st.st_size);
        break;
      case NodeKind::kSymlink:
        e.type = CpioEntry::Type::kSymlink;
        e.link_target = node.link_target;
        e.mode = 0777;
        pf.type = "symlink";
        pf.target = node.link_target;
        break;
      case NodeKind::kDirectory:
        e.type = CpioEntry::Type::kDirectory;
        e.mode = st.st_mode & 07777;
        pf.type = "dir";
        break;
    }
    entries.push_back(std::move(e));
    files->push_back(std::move(pf));
  }
  return entries;
}

void AddGenerated(std::vector<CpioEntry>* entries, std::vector<PackedFile>* files,
                  const std::string& path, std::string data, const std::string& reason) {
  CpioEntry e;
  e.path = path.substr(1);
  e.type = CpioEntry::Type::kFile;
  e.mode = 0644;
  files->push_back({path, "file", data.size(), reason, ""});
  e.data = std::move(data);
  entries->push_back(std::move(e));
}

void AddDir(std::vector<CpioEntry>* entries, std::vector<PackedFile>* files, const std::string& path,
            uint32_t mode, const std::string& reason) {
  for (const auto& e : *entries)
    if (e.path == path.substr(1)) return;
  CpioEntry e;
  e.path = path.substr(1);
  e.type = CpioEntry::Type::kDirectory;
  e.mode = mode;
  entries->push_back(std::move(e));
  files->push_back({path, "dir", 0, reason, ""});
}

Status CheckInit(const fs::path& init) {
  if (init.empty() || !fs::is_regular_file(init))
    return Err("arrow-init not found at '", init.string(),
               "' (set ARROW_INIT or keep arrow-init next to the arrow binary)");
  auto info = ReadElf(init);
  if (!info) return Err("arrow-init: ", info.message());
  if (!info->interpreter.empty() || !info->needed.empty())
    return Err(init.string(), ": arrow-init must be a static executable");
  return Ok{};
}

}  // namespace

size_t RegularFileCount(const std::vector<PackedFile>& files) {
  return static_cast<size_t>(std::count_if(files.begin(), files.end(), [](const PackedFile& f) { return f.type == "file"; }));
}

nlohmann::json FilesToJson(const std::vector<PackedFile>& files) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : files) {
    nlohmann::json j = {{"path", f.path}, {"type", f.type}, {"size", f.size}, {"reason", f.reason}};
    if (!f.target.empty()) j["target"] = f.target;
    arr.push_back(std::move(j));
  }
  return arr;
}

std::vector<PackedFile> FilesFromJson(const nlohmann::json& j) {
  std::vector<PackedFile> out;
  if (!j.is_array()) return out;
  for (const auto& f : j) {
    if (!f.is_object()) continue;
    PackedFile pf;
    pf.path = f.value("path", "");
    pf.type = f.value("type", "");
    pf.size = f.value("size", uint64_t{0});
    pf.reason = f.value("reason", "");
    pf.target = f.value("target", "");
    out.push_back(std::move(pf));
  }
  return out;
}

namespace {

// "16.0 MiB"
std::string Mib(uint64_t bytes) {
  char b[32];
  snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return b;
}

// Whether the app's files go into an EROFS root layer, and why (recorded in the config).
bool ChooseErofs(const Recipe& r, const BuildOptions& o, uint64_t app_bytes, std::string* why) {
  if (o.trace_image) {  // no disk, so its kernel needs only the recipe's features + fanotify
    *why = "trace image: every candidate in the initramfs";
    return false;
  }
  if (r.image.root == "initramfs") {
    *why = "[image] root = \"initramfs\"";
    return false;
  }
  if (r.image.root == "erofs") {
    *why = "[image] root = \"erofs\"";
    return true;
  }
  const bool prebuilt = !o.kernel_override.empty() || !r.kernel.image.empty();
  if (prebuilt) {
    *why = "auto: a prebuilt kernel (only tuned kernels are known to mount an EROFS root)";
    return false;
  }
  const bool big = app_bytes >= kErofsAutoThreshold;
  *why = "auto: " + Mib(app_bytes) + " of files " + (big ? ">= " : "< ") +
         Mib(kErofsAutoThreshold);
  return big;
}

nlohmann::json VerifyToJson(const Recipe::Verify& v) {
  if (!v.present) return nullptr;
  nlohmann::json j = {{"exit", v.exit}, {"stdout", v.stdout_re}, {"tcp", v.tcp}, {"timeout", v.timeout}, {"env", v.env}};
  j["args"] = v.args ? nlohmann::json(*v.args) : nlohmann::json(nullptr);
  j["http"] = nlohmann::json::array();
  for (const auto& h : v.http)
    j["http"].push_back({{"port", h.port}, {"path", h.path}, {"status", h.status}, {"body", h.body_re}});
  return j;
}

}  // namespace

Result<BuildReport> BuildArrow(const Recipe& r, const BuildOptions& o) {
  ARROW_TRY(CheckInit(o.init_binary));
  auto tmp = TempDir::Create("arrow-build");
  if (!tmp) return tmp.error();

  const auto env = AppEnv(r);
  ClosureOptions co;
  co.root = o.sysroot;
  if (auto it = r.app.env.find("LD_LIBRARY_PATH"); it != r.app.env.end())
    co.ld_library_path = SplitPathList(it->second);
  co.path = SplitPathList(env.at("PATH"));
  co.rule_nss = r.rules.nss;
  co.rule_libgcc_s = r.rules.libgcc_s;
  co.rule_gconv = r.rules.gconv;
  co.exclude = r.files.exclude;
  co.rule_dlopen = r.rules.dlopen;

  // What the recipe names; with a trace, include trees only as candidates (trace.h).
  auto populate = [&](Closure& c, bool trees) {
    if (auto it = r.files.map.find(r.app.exec); it != r.files.map.end())
      c.AddMappedEntrypoint(r.app.exec, RecipePath(r, it->second), "entrypoint ([files] map)");
    else
      c.AddEntrypoint(r.app.exec, "entrypoint");
    for (const auto& p : r.files.include)
      if (trees || !c.IsDirectory(p)) c.Add(p, "[files] include");
    for (const auto& [guest, host] : r.files.map)
      if (guest != r.app.exec) c.AddMapped(guest, RecipePath(r, host), "[files] map");
  };
  Closure closure(co);
  populate(closure, o.trace == nullptr);
  std::optional<TraceMerge> merge;
  if (o.trace) {
    Closure candidates(co);
    populate(candidates, true);
    ARROW_TRY(candidates.Finish());
    merge = AddTraced(closure, candidates, *o.trace, r.trace.keep);
  }
  ARROW_TRY(closure.Finish());
  std::optional<UserIds> user;
  if (!r.app.user.empty()) {
    auto ids = ResolveUser(o.sysroot, r.app.user);
    if (!ids) return Err("[app] ", ids.message());
    user = *ids;
  }
  // [files] dirs: "path\0mode\0uid\0gid\0" records for arrow-init, owners resolved here.
  std::string dirs_records;
  std::vector<UserIds> account_ids;
  if (user) account_ids.push_back(*user);
  for (const auto& d : r.files.dirs) {
    UserIds owner = user.value_or(UserIds{});
    if (!d.owner.empty()) {
      auto ids = ResolveUser(o.sysroot, d.owner);
      if (!ids) return Err("[files] dirs ", d.path, ": owner: ", ids.message());
      owner = *ids;
      account_ids.push_back(owner);
    }
    char mode[8];
    snprintf(mode, sizeof mode, "%o", d.mode);
    for (const std::string& f : {d.path, std::string(mode), std::to_string(owner.uid), std::to_string(owner.gid)})
      dirs_records += f + '\0';
  }

  BuildReport report;
  report.warnings = closure.warnings();
  report.trace = merge;
  auto app_entries = EntriesFromClosure(closure, &report.files);
  if (!app_entries) return app_entries.error();
  uint64_t app_bytes = 0;
  for (const auto& f : report.files) app_bytes += f.size;
  // arrow-init mounts fresh file systems over these at boot: packed files there are hidden.
  for (const char* mnt : {"/tmp", "/run", "/proc", "/sys", "/dev"}) {
    size_t n = 0;
    std::string first;
    for (const auto& f : report.files)
      if (f.path.rfind(std::string(mnt) + "/", 0) == 0 && n++ == 0) first = f.path;
    if (n)
      report.warnings.push_back(first + (n > 1 ? " and " + std::to_string(n - 1) + " more" : "") + (n > 1 ? " are" : " is") + " under " + mnt +
                                ", where arrow-init mounts a fresh file system at boot: the app will not see them"
                                " (keep the app's files elsewhere, e.g. /opt or /srv)");
  }
  std::string root_why;
  const bool erofs = ChooseErofs(r, o, app_bytes, &root_why);

  KernelChoiceOptions ko;
  ko.sysroot = o.sysroot;
  ko.image_override = o.kernel_override;
  ko.source = o.kernel_source;
  ko.jobs = o.kernel_jobs;
  ko.format = o.kernel_format;
  ko.progress = o.progress;
  ko.needs_block = erofs;
  if (auto who = closure.Ipv4User()) ko.ipv4_user = *who;
  ko.trace = o.trace_image;  // a trace image's kernel also has fanotify
  ko.kernel_fetch = o.kernel_fetch;
  ko.kernel_compiled = o.kernel_compiled;
  auto kernel = ChooseKernel(r, ko, tmp->path());
  if (!kernel) return kernel.error();
  if (erofs && kernel->virtio_blk.has_value() && !kernel->erofs_root)
    return Err("[image] root = \"erofs\" needs a kernel with virtio-blk, EROFS and overlayfs: ",
               kernel->origin, " lacks them (add the \"block\" feature)");
  if (erofs && !kernel->virtio_blk.has_value())
    report.warnings.push_back("EROFS root with a prebuilt kernel: it must have virtio-blk, "
                              "virtio-mmio command-line devices, EROFS and overlayfs built in");

  // The app's files: in the initramfs, or in the root layer with the initramfs holding only
  // what Arrow adds.
  std::vector<CpioEntry> root_entries;
  std::vector<CpioEntry>* entries = &*app_entries;
  if (erofs) {
    root_entries = std::move(*app_entries);
    app_entries->clear();
    for (const char* d : {"/dev", "/proc", "/sys", "/tmp", "/run"}) {
      std::vector<PackedFile> ignored;  // listed once, with the initramfs ones
      AddDir(&root_entries, &ignored, d, std::string(d) == "/tmp" ? 01777 : 0755, "");
    }
  }

  // What Arrow adds: PID 1, the console node, mount points and the init's configuration.
  CpioEntry init;
  init.path = "init";
  init.source = o.init_binary.string();
  init.mode = 0755;
  entries->push_back(init);
  report.files.push_back({"/init", "file", fs::file_size(o.init_binary), "arrow-init (PID 1)", ""});
  AddDir(entries, &report.files, "/dev", 0755, "mount point (devtmpfs)");
  CpioEntry console;
  console.path = "dev/console";
  console.type = CpioEntry::Type::kCharDevice;
  console.mode = 0600;
  console.rdev_major = 5;
  console.rdev_minor = 1;
  entries->push_back(console);
  report.files.push_back({"/dev/console", "char", 0, "console for PID 1 (kernel opens it)", ""});
  AddDir(entries, &report.files, "/proc", 0555, "mount point (proc)");
  AddDir(entries, &report.files, "/sys", 0555, "mount point (sysfs)");
  AddDir(entries, &report.files, "/tmp", 01777, "mount point (tmpfs)");
  AddDir(entries, &report.files, "/run", 0755, "mount point (tmpfs)");
  std::vector<std::string> argv{r.app.exec};
  argv.insert(argv.end(), r.app.args.begin(), r.app.args.end());
  std::vector<std::string> envv;
  for (const auto& [k, v] : env) envv.push_back(k + "=" + v);
  AddGenerated(entries, &report.files, "/.arrow/argv", NulJoin(argv), "arrow: entrypoint argv");
  AddGenerated(entries, &report.files, "/.arrow/env", NulJoin(envv), "arrow: app environment");
  AddGenerated(entries, &report.files, "/.arrow/workdir", r.app.workdir, "arrow: working directory");
  if (!account_ids.empty()) {  // getpwnam() and friends must find the app's accounts
    const Accounts acc = AccountsFor(o.sysroot, account_ids);
    auto packed = [&](const std::string& p) {
      return std::any_of(report.files.begin(), report.files.end(),
                         [&](const PackedFile& f) { return f.path == p; });
    };
    // In the app's root: the root layer when there is one (the initramfs is left behind).
    std::vector<CpioEntry>* app_root = erofs ? &root_entries : entries;
    if (!packed("/etc/passwd"))
      AddGenerated(app_root, &report.files, "/etc/passwd", acc.passwd,
                   "arrow: root and the accounts of [app] user / [files] dirs");
    if (!packed("/etc/group"))
      AddGenerated(app_root, &report.files, "/etc/group", acc.group,
                   "arrow: the groups of those accounts");
  }
  if (!dirs_records.empty())
    AddGenerated(entries, &report.files, "/.arrow/dirs", dirs_records,
                 "arrow: directories created at boot ([files] dirs)");
  if (r.app.ready.rfind("tcp:", 0) == 0 || r.app.ready.rfind("http:", 0) == 0)
    AddGenerated(entries, &report.files, "/.arrow/ready", r.app.ready,
                 "arrow: the readiness probe arrow-init runs ([app] ready)");
  if (user)
    AddGenerated(entries, &report.files, "/.arrow/user",
                 std::to_string(user->uid) + ":" + std::to_string(user->gid),
                 "arrow: the user the app runs as ([app] user)");
  if (erofs)
    AddGenerated(entries, &report.files, "/.arrow/rootfs", "erofs\n",
                 "arrow: the app's files are in the EROFS root layer");
  if (!kernel->modules.empty()) {
    std::vector<std::string> order;
    for (size_t i = 0; i < kernel->modules.size(); ++i) {
      const PackedModule& m = kernel->modules[i];
      CpioEntry e;
      e.path = m.guest_path.substr(1);
      e.source = m.host_path.string();
      e.mode = 0644;
      entries->push_back(std::move(e));
      report.files.push_back({m.guest_path, "file", fs::file_size(m.host_path),
                              "kernel module " + m.name + " ([kernel] modules, load order " +
                                  std::to_string(i + 1) + ")",
                              ""});
      order.push_back(m.guest_path);
    }
    AddGenerated(entries, &report.files, "/.arrow/modules", NulJoin(order),
                 "arrow: kernel modules in load order");
  }
  std::sort(report.files.begin(), report.files.end(),
            [](const PackedFile& a, const PackedFile& b) { return a.path < b.path; });
  for (const auto& f : report.files) report.file_bytes += f.size;

  const fs::path rootfs = tmp->path() / "root.erofs";
  nlohmann::json root_json = {{"type", erofs ? "erofs" : "initramfs"}, {"choice", root_why}};
  if (erofs) {
    packer::ErofsOptions eo;
    eo.mtime = o.mtime;
    eo.uuid = packer::UuidFromText(r.name + "\n" + r.text_digest);
    auto info = packer::WriteErofs(root_entries, rootfs, eo);
    if (!info) return Err("EROFS root layer: ", info.message());
    report.rootfs_bytes = fs::file_size(rootfs);
    root_json["bytes"] = report.rootfs_bytes;
    root_json["file_bytes"] = app_bytes;
    root_json["uuid"] = info->uuid;
  }
  report.root = erofs ? "erofs" : "initramfs";

  const fs::path initramfs = tmp->path() / "initramfs.cpio.zst";
  packer::PackOptions po;
  po.zstd_level = o.trace_image ? std::min(o.zstd_level, 3) : o.zstd_level;  // booted once, then deleted
  po.threads = o.threads;
  po.mtime = o.mtime;
  auto stats = packer::WriteInitramfs(std::move(*entries), initramfs, po);
  if (!stats) return stats.error();
  report.initramfs_bytes = stats->compressed_bytes;
  report.cpio_bytes = stats->cpio_bytes;

  const bool vmlinux = !kernel->vmlinux_zst.empty();
  const fs::path& kernel_layer = vmlinux ? kernel->vmlinux_zst : kernel->bzimage;
  auto kernel_hex = Sha256FileHex(kernel_layer);
  if (!kernel_hex) return kernel_hex.error();
  report.kernel_bytes = fs::file_size(kernel_layer);
  report.kernel_format = vmlinux ? "vmlinux" : "bzimage";
  report.kernel_version = kernel->version;
  report.kernel_origin = kernel->origin;
  report.kernel_added = kernel->added;
  std::string cmdline = kDefaultCmdline;
  if (!r.kernel.cmdline.empty()) cmdline += " " + r.kernel.cmdline;
  auto opt_bool = [](const std::optional<bool>& b) {
    return b ? nlohmann::json(*b) : nlohmann::json(nullptr);
  };

  nlohmann::json config = {
      {"name", r.name},
      {"version", r.version},
      {"architecture", "amd64"},
      {"os", "linux"},
      {"entrypoint", argv},
      {"env", envv},
      {"workdir", r.app.workdir},
      {"ports", r.app.ports},
      {"volumes", r.app.volumes},
      {"ready", r.app.ready.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.app.ready)},
      {"user", user ? nlohmann::json(std::to_string(user->uid) + ":" + std::to_string(user->gid))
                    : nlohmann::json(nullptr)},
      {"root", root_json},
      {"verify", VerifyToJson(r.verify)},
      {"kernel",
       {{"version", kernel->version},
        {"release", kernel->release},
        {"digest", "sha256:" + *kernel_hex},
        {"format", report.kernel_format},
        {"config_digest", kernel->config_digest.empty() ? nlohmann::json(nullptr)
                                                         : nlohmann::json(kernel->config_digest)},
        {"origin", kernel->origin},
        {"modules", [&] {
           nlohmann::json m = nlohmann::json::array();
           for (const auto& pm : kernel->modules) m.push_back(pm.guest_path);
           return m;
         }()},
        {"features", kernel->features},
        {"virtio_net", opt_bool(kernel->virtio_net)},
        {"inet", opt_bool(kernel->inet)},
        {"virtio_blk", opt_bool(kernel->virtio_blk)},
        {"cmdline", cmdline}}},
      // A trace image holds every candidate in RAM: the unpacked files and, while the kernel
      // unpacks them, the archive too.
      {"vm", {{"memory", o.trace_image ? r.vm.memory + ((2 * report.cpio_bytes + (1u << 20) - 1) & ~uint64_t{(1u << 20) - 1})
                                       : r.vm.memory},
              {"cpus", r.vm.cpus}}},
      {"builder", {{"name", "arrow"}, {"version", ARROW_VERSION}}},
      {"recipe_digest", r.text_digest},
      {"initramfs", {{"file_bytes", report.file_bytes}, {"cpio_bytes", report.cpio_bytes}}},
      {"files", FilesToJson(report.files)},
  };
  if (o.trace_image) config["trace_image"] = true;
  packer::WriteOptions wo;
  wo.mtime = o.mtime;
  wo.ref_name = r.version;
  std::vector<packer::LayerInput> layers = {
      vmlinux ? packer::LayerInput{packer::kVmlinuxMediaType, kernel->vmlinux_zst, "vmlinux.zst"}
              : packer::LayerInput{packer::kKernelMediaType, kernel->bzimage, "vmlinuz"},
      {packer::kInitramfsMediaType, initramfs, "initramfs.cpio.zst"}};
  if (erofs) layers.push_back({packer::kRootfsMediaType, rootfs, "root.erofs"});
  auto digest = packer::WriteArrow(o.output, config, layers, wo);
  if (!digest) return digest.error();
  report.manifest_digest = *digest;
  report.arrow_bytes = fs::file_size(o.output);
  return report;
}

}  // namespace arrow::builder
