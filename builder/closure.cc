// Closure: the set of files (and symlinks) an image needs so a program starts exactly as it
// does in the build root. ELF programs go through the ld.so model in loader.cc; "#!" scripts
// pull in their interpreter (through PATH for "/usr/bin/env NAME"), traced recursively; glibc's
// dlopen() families are added by rules in Finish(). Problems are collected and reported once.
#include "builder/closure.h"

#include <fnmatch.h>

#include <fstream>
#include <set>
#include <sstream>

#include "builder/elf.h"
#include "builder/loader.h"
#include "builder/root_fs.h"

namespace arrow::builder {

struct Closure::Impl {
  explicit Impl(ClosureOptions o) : options(std::move(o)), fs(options.root), loader(options, fs) {}

  ClosureOptions options;
  RootFs fs;
  Loader loader;
  std::map<std::string, Node> nodes;
  std::set<std::string> traced;
  std::vector<std::string> problems;
  std::set<std::string> problem_set;
  bool libc_loaded = false;

  void Problem(std::string p) {
    if (problem_set.insert(p).second) problems.push_back(std::move(p));
  }

  void AddNode(const std::string& path, NodeKind kind, const std::string& reason,
               const std::string& source = "") {
    if (nodes.count(path)) return;
    Node n;
    n.path = path;
    n.kind = kind;
    n.reason = reason;
    n.source = source.empty() ? fs.Host(path) : source;
    if (kind == NodeKind::kSymlink) n.link_target = fs.LinkText(path);
    nodes.emplace(path, std::move(n));
  }

  // Walks `path`, records its symlinks; returns the real guest path or nullopt.
  std::optional<RootFs::Walked> Locate(const std::string& path, const std::string& reason) {
    const RootFs::Walked& w = fs.Walk(path);
    if (!w.ok) return std::nullopt;
    for (const auto& l : w.links) {
      const RootFs::Walked& t = fs.Walk(l);
      AddNode(l, NodeKind::kSymlink, "symlink to " + t.real + " (" + reason + ")");
    }
    return w;
  }

  // Adds a loaded library (no tracing: its dependencies are part of the program's load).
  void AddLibrary(const std::string& path, const std::string& reason) {
    auto w = Locate(path, reason);
    if (!w) return;
    AddNode(w->real, NodeKind::kFile, reason);
    if (!w->real.empty() && fs.Walk(w->real).ok) {
      auto info = loader.Info(w->real);
      if (info && info->soname == "libc.so.6") libc_loaded = true;
    }
  }

  void TraceElf(const std::string& guest, const std::string& host) {
    auto r = loader.LoadProgram(guest, host);
    if (!r) return Problem(r.message());
    for (const auto& l : r->loaded)
      AddLibrary(l.path, (l.interpreter ? "interpreter of " : "DT_NEEDED of ") + l.needed_by);
    for (const auto& m : r->missing)
      Problem(m.name + " (needed by " + m.needed_by + "): not found in " + m.searched);
  }

  void TraceScript(const std::string& host, const std::string& shown) {
    std::ifstream in(host, std::ios::binary);
    char buf[256] = {};  // the kernel reads the first 256 bytes (BINPRM_BUF_SIZE)
    in.read(buf, sizeof buf);
    std::string head(buf, static_cast<size_t>(in.gcount()));
    if (head.size() < 2 || head[0] != '#' || head[1] != '!') return;
    std::string line = head.substr(
        2, head.find('\n') == std::string::npos ? std::string::npos : head.find('\n') - 2);
    std::istringstream ws(line);
    std::string interp, arg;
    ws >> interp;
    if (interp.empty()) return Problem(shown + ": empty #! line");
    std::string reason = "#! interpreter of " + shown;
    Add(interp, reason);
    if (interp.size() >= 4 && interp.compare(interp.size() - 4, 4, "/env") == 0) {
      std::string name;
      while (ws >> arg) {
        if (arg == "-S" || arg == "--split-string") continue;
        if (arg.rfind("-S", 0) == 0) arg = arg.substr(2);
        if (arg.empty() || arg[0] == '-' || arg.find('=') != std::string::npos) continue;
        name = arg;
        break;
      }
      if (name.empty()) return Problem(shown + ": #!" + interp + " without a program name");
      if (name.find('/') != std::string::npos) return Add(name, reason);
      for (const auto& dir : options.path) {
        std::string cand = JoinGuest(dir, name);
        const RootFs::Walked& w = fs.Walk(cand);
        if (w.ok && !w.is_dir) return Add(cand, reason + " (via env and PATH)");
      }
      std::string pathstr;
      for (const auto& d : options.path) pathstr += (pathstr.empty() ? "" : ":") + d;
      Problem(name + " (#!" + interp + " of " + shown + "): not found in PATH " + pathstr);
    }
  }

  void Trace(const std::string& guest, const std::string& real, const std::string& host) {
    if (!traced.insert(guest + "\n" + host).second) return;
    std::ifstream in(host, std::ios::binary);
    char m[4] = {};
    in.read(m, 4);
    if (in.gcount() == 4 && std::string_view(m, 4) == "\177ELF") {
      auto info = ReadElf(host);
      if (!info) return Problem(info.message());
      if (info->soname == "libc.so.6") libc_loaded = true;
      if (info->has_dynamic || !info->interpreter.empty())
        TraceElf(guest, host == fs.Host(real) ? "" : host);
    } else if (in.gcount() >= 2 && m[0] == '#' && m[1] == '!') {
      TraceScript(host, guest);
    }
  }

  void Add(const std::string& path, const std::string& reason) {
    auto w = Locate(path, reason);
    if (!w) return Problem(path + " (" + reason + "): not found in " + options.root.string());
    if (w->is_dir) return AddTree(path, reason);
    AddNode(w->real, NodeKind::kFile, reason);
    Trace(w->real, w->real, fs.Host(w->real));
  }

  bool Excluded(const std::string& guest) {
    for (const auto& p : options.exclude)
      if (fnmatch(p.c_str(), guest.c_str(), 0) == 0) return true;
    return false;
  }

  void AddTree(const std::string& path, const std::string& reason) {
    auto w = Locate(path, reason);
    if (!w || !w->is_dir)
      return Problem(path + " (" + reason + "): not a directory in " + options.root.string());
    AddNode(w->real, NodeKind::kDirectory, reason);
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(fs.Host(w->real), ec), end;
    if (ec) return Problem(path + ": cannot list (" + ec.message() + ")");
    std::vector<std::string> files;
    for (; it != end; it.increment(ec)) {
      if (ec) return Problem(path + ": cannot list (" + ec.message() + ")");
      std::string rel = std::filesystem::relative(it->path(), fs.Host(w->real)).string();
      std::string guest = JoinGuest(w->real, rel);
      if (Excluded(guest)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_symlink(ec)) {
        AddNode(guest, NodeKind::kSymlink, reason);
      } else if (it->is_directory(ec)) {
        AddNode(guest, NodeKind::kDirectory, reason);
      } else if (it->is_regular_file(ec)) {
        AddNode(guest, NodeKind::kFile, reason);
        files.push_back(guest);
      }
    }
    for (const auto& f : files) Trace(f, f, fs.Host(f));
  }

  void ApplyRules() {
    if (!libc_loaded) return;
    auto lib = [&](const std::string& name, const std::string& reason) {
      if (auto p = loader.SearchFromLibc(name)) {
        AddLibrary(*p, reason);
        Trace(*p, fs.Walk(*p).real, fs.Host(fs.Walk(*p).real));
      }
    };
    if (options.rule_nss) {
      // glibc 2.34+ has "files" and "dns" built into libc; every other service is dlopen()ed as
      // libnss_<service>.so.2. A module the root lacks is skipped, as glibc skips it.
      std::ifstream in(fs.Host(fs.Walk("/etc/nsswitch.conf").real));
      if (fs.Walk("/etc/nsswitch.conf").ok) Add("/etc/nsswitch.conf", "rule: nss");
      std::string line;
      while (std::getline(in, line)) {
        if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::istringstream ws(line.substr(colon + 1));
        std::string svc;
        while (ws >> svc) {
          if (svc[0] == '[' || svc.back() == ']' || svc == "files" || svc == "dns") continue;
          lib("libnss_" + svc + ".so.2", "rule: nss (nsswitch.conf: " + svc + ")");
        }
      }
    }
    if (options.rule_libgcc_s)
      lib("libgcc_s.so.1", "rule: libgcc_s (dlopen()ed by glibc for unwinding)");
    if (options.rule_gconv) {
      for (const auto& [path, n] : std::map<std::string, Node>(nodes)) {
        if (n.kind != NodeKind::kFile) continue;
        auto info = fs.Walk(path).ok ? &loader.Info(path) : nullptr;
        if (info && *info && (*info)->soname == "libc.so.6") {
          std::string dir = path.substr(0, path.rfind('/')) + "/gconv";
          if (fs.Walk(dir).ok) AddTree(dir, "rule: gconv");
          break;
        }
      }
    }
  }
};

Closure::Closure(ClosureOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Closure::~Closure() = default;

void Closure::Add(const std::string& path, const std::string& reason) {
  impl_->Add(path, reason);
}
void Closure::AddTree(const std::string& path, const std::string& reason) {
  impl_->AddTree(path, reason);
}

void Closure::AddMapped(const std::string& guest_path, const std::filesystem::path& host_path,
                        const std::string& reason) {
  std::string g = JoinGuest("/", guest_path);
  impl_->AddNode(g, NodeKind::kFile, reason, host_path.string());
  impl_->Trace(g, g, host_path.string());
}

Status Closure::Finish() {
  impl_->ApplyRules();
  for (const auto& p : impl_->loader.config_problems()) impl_->Problem(p);
  if (impl_->problems.empty()) return Ok{};
  std::string msg;
  for (const auto& p : impl_->problems) msg += (msg.empty() ? "" : "\n") + p;
  return Err(msg);
}

const std::map<std::string, Node>& Closure::nodes() const {
  return impl_->nodes;
}

Result<Closure::Resolution> Closure::Resolve(const std::string& path) {
  auto r = impl_->loader.LoadProgram(path);
  if (!r) return r.error();
  Resolution out;
  for (const auto& l : r->loaded) out.loaded.push_back(l.path);
  for (const auto& m : r->missing) out.missing.push_back(m.name);
  return out;
}

}  // namespace arrow::builder
