// Closure: the set of files (and symlinks) an image needs so a program starts exactly as it
// does in the build root. ELF programs go through the ld.so model in loader.cc; "#!" scripts
// pull in their interpreter (through PATH for "/usr/bin/env NAME"), traced recursively; glibc's
// dlopen() families are added by rules in Finish(). Problems are collected and reported once.
#include "builder/closure.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
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
  std::set<std::string> trees_walked;
  std::set<std::string> notes_seen;  // ELF files whose dlopen notes were applied
  std::vector<std::string> problems;
  std::set<std::string> problem_set;
  std::vector<std::string> warnings;
  bool libc_loaded = false;
  // While tracing the members of an [files] include tree, a script whose interpreter is missing
  // is a warning: such a script is just as broken on the build root itself (Python's cgi.py
  // names /usr/local/bin/python), and nothing says the app runs it.
  bool lenient_scripts = false;

  void Problem(std::string p) {
    if (problem_set.insert(p).second) problems.push_back(std::move(p));
  }
  void ScriptProblem(std::string p) {
    if (!lenient_scripts) return Problem(std::move(p));
    if (problem_set.insert(p).second) warnings.push_back(std::move(p));
  }

  void AddNode(const std::string& path, NodeKind kind, const std::string& reason,
               const std::string& source = "") {
    if (nodes.count(path)) return;
    Node n;
    n.path = path;
    n.kind = kind;
    n.reason = reason;
    n.source = source.empty() ? fs.Host(path) : source;
    if (kind == NodeKind::kSymlink) {
      n.link_target = fs.LinkText(path);
      std::error_code ec;  // a link met by a tree walk (not by a lookup) is read here
      if (n.link_target.empty()) n.link_target = std::filesystem::read_symlink(n.source, ec).string();
    }
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
    if (!fs.Walk(interp).ok)
      return ScriptProblem(interp + " (" + reason + "): not found in " + options.root.string());
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
      if (name.find('/') != std::string::npos) {
        if (!fs.Walk(name).ok)
          return ScriptProblem(name + " (" + reason + "): not found in " + options.root.string());
        return Add(name, reason);
      }
      for (const auto& dir : options.path) {
        std::string cand = JoinGuest(dir, name);
        const RootFs::Walked& w = fs.Walk(cand);
        if (w.ok && !w.is_dir) return Add(cand, reason + " (via env and PATH)");
      }
      std::string pathstr;
      for (const auto& d : options.path) pathstr += (pathstr.empty() ? "" : ":") + d;
      ScriptProblem(name + " (#!" + interp + " of " + shown + "): not found in PATH " + pathstr);
    }
  }

  // A shell script the app runs (not a member of an include tree) that ends in `exec PROGRAM`,
  // as wrappers like Debian's /usr/bin/valgrind do (exec "$0.bin" "$@"): a literal absolute
  // path is packed; a path computed at run time cannot be followed statically, so the build
  // says so instead of the guest failing later.
  void ScanShellExecs(const std::string& host, const std::string& shown) {
    std::ifstream in(host, std::ios::binary);
    std::string line;
    std::getline(in, line);
    static const std::set<std::string, std::less<>> kShells = {"sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "busybox"};
    std::istringstream first(line.substr(2));
    std::string interp, arg;
    first >> interp;
    if (interp.ends_with("/env")) first >> interp;
    if (!kShells.count(interp.substr(interp.rfind('/') + 1))) return;
    for (int n = 0; n < 10000 && std::getline(in, line); n++) {
      std::istringstream ws(line);
      std::string word, prev = ";";
      while (ws >> word) {
        if (word[0] == '#') break;
        const bool at_command = prev == ";" || prev == "&&" || prev == "||" || prev == "then" ||
                                prev == "do" || prev == "else" || prev.ends_with(";");
        prev = word;
        if (word != "exec" || !at_command) continue;
        std::string target;
        while (ws >> target && target[0] == '-') {
          if (target == "-a") ws >> target;  // exec -a NAME PROGRAM
        }
        if (target.empty() || target[0] == '-') break;
        if (target.size() >= 2 && (target[0] == '"' || target[0] == '\'') && target.back() == target[0])
          target = target.substr(1, target.size() - 2);
        if (target.find('$') != std::string::npos || target.find('`') != std::string::npos) {
          std::string w = shown + ": `exec " + target + "` runs a program named at run time, which the static closure cannot follow (build with --trace, or name the program in [files] include)";
          if (problem_set.insert(w).second) warnings.push_back(w);
        } else if (target[0] == '/') {
          if (fs.Walk(target).ok) Add(target, "exec'd by " + shown);
          else if (problem_set.insert(shown + target).second)
            warnings.push_back(shown + ": `exec " + target + "`: " + target + " is not in " + options.root.string());
        }
        break;
      }
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
    } else if (in.gcount() >= 2 && m[0] == '#' && m[1] == '!' && Executable(host)) {
      // The kernel only honours "#!" on files it may execute; a non-executable module of a
      // library tree (Perl's Getopt/Long.pm) is data, whatever its first line says.
      TraceScript(host, guest);
      if (!lenient_scripts) ScanShellExecs(host, guest);
    }
  }

  static bool Executable(const std::string& host) {
    struct stat st {};
    return stat(host.c_str(), &st) == 0 && (st.st_mode & 0111) != 0;
  }

  // The program the image runs: it must exist, be executable, and be an ELF or a "#!" script.
  void AddEntrypoint(const std::string& guest, const std::string& host, const std::string& reason) {
    std::ifstream in(host, std::ios::binary);
    if (!in) return Problem(guest + " (" + reason + "): cannot open " + host);
    char m[4] = {};
    in.read(m, 4);
    const bool elf = in.gcount() == 4 && std::string_view(m, 4) == "\177ELF";
    const bool script = in.gcount() >= 2 && m[0] == '#' && m[1] == '!';
    if (!elf && !script)
      return Problem(guest + " (" + reason + "): not an ELF executable or a #! script");
    if (!Executable(host))
      return Problem(guest + " (" + reason + "): not executable (no x permission bit)");
    if (elf) {
      auto info = ReadElf(host);
      if (!info) return Problem(info.message());
      if (info->type != 2 && info->type != 3)
        return Problem(guest + " (" + reason + "): an ELF object but not an executable");
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
    if (!trees_walked.insert(w->real).second) return;  // a link back into a tree seen before
    std::vector<std::string> files, links;
    for (; it != end; it.increment(ec)) {
      if (ec) return Problem(path + ": cannot list (" + ec.message() + ")");
      // Lexical: std::filesystem::relative() would resolve a symlink member to its target.
      std::string rel = it->path().lexically_relative(fs.Host(w->real)).string();
      std::string guest = JoinGuest(w->real, rel);
      if (Excluded(guest)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_symlink(ec)) {
        AddNode(guest, NodeKind::kSymlink, reason);
        links.push_back(guest);
      } else if (it->is_directory(ec)) {
        AddNode(guest, NodeKind::kDirectory, reason);
      } else if (it->is_regular_file(ec)) {
        AddNode(guest, NodeKind::kFile, reason);
        files.push_back(guest);
      }
    }
    for (const auto& f : files) Trace(f, f, fs.Host(f));
    // A link inside the tree brings its target along (Python's sitecustomize.py points into
    // /etc); a dangling one stays dangling, exactly as in the build root.
    for (const auto& l : links)
      if (fs.Walk(l).ok) Add(l, reason);
  }

  // The ELF facts of file node `n`: files of the root were parsed by the loader already; a
  // [files] map entry is read here, into `mapped`, which must outlive the returned reference.
  const Result<ElfInfo>& NodeInfo(const Node& n, std::optional<Result<ElfInfo>>* mapped) {
    if (n.source == fs.Host(n.path)) return loader.Info(n.path);
    mapped->emplace(ReadElf(n.source));
    return **mapped;
  }

  static int Rank(const std::string& priority) {
    return priority == "required" ? 0 : priority == "recommended" ? 1 : 2;
  }

  // FDO dlopen notes of every ELF file not looked at yet; repeated until nothing new is added
  // (a library a note brings in may carry notes of its own).
  void DlopenNotes() {
    const int wanted = static_cast<int>(options.rule_dlopen);
    for (bool added = true; added;) {
      added = false;
      for (const auto& [path, n] : std::map<std::string, Node>(nodes)) {
        if (n.kind != NodeKind::kFile || !notes_seen.insert(path).second || !IsElfFile(n.source)) continue;
        std::optional<Result<ElfInfo>> mapped;
        const Result<ElfInfo>& info = NodeInfo(n, &mapped);
        if (!info) continue;  // reported by the trace
        for (const auto& dep : info->dlopen) {
          if (Rank(dep.priority) > wanted) continue;
          std::string names;
          std::optional<std::string> found;
          for (const auto& so : dep.sonames) {
            names += (names.empty() ? "" : " or ") + so;
            if (!found) found = so.find('/') == std::string::npos ? loader.SearchFromObject(so, path)
                                : fs.Walk(so).ok ? std::optional<std::string>(so) : std::nullopt;
          }
          const std::string what = dep.priority + " dlopen dependency of " + path +
                                   (dep.feature.empty() ? "" : " (feature " + dep.feature + ")");
          if (!found) {
            if (dep.priority == "required") Problem(names + " (" + what + "): not found in " + options.root.string());
            else if (problem_set.insert(names + what).second)
              warnings.push_back(names + " (" + what + "): not found, not packed");
            continue;
          }
          const size_t before = nodes.size();
          AddLibrary(*found, what + ", .note.dlopen");
          Trace(*found, fs.Walk(*found).real, fs.Host(fs.Walk(*found).real));
          added |= nodes.size() != before;
        }
      }
    }
  }

  void ApplyRules() {
    DlopenNotes();
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
          // systemd's modules only answer through a running systemd (D-Bus/varlink), which no
          // arrow has: packing them (libnss_systemd pulls in libcap and libm) changes nothing
          // the app can observe, since glibc moves on to the next service either way.
          if (svc == "systemd" || svc == "mymachines" || svc == "resolve") continue;
          lib("libnss_" + svc + ".so.2", "rule: nss (nsswitch.conf: " + svc + ")");
        }
      }
    }
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
    DlopenNotes();  // of the modules the rules added
    // Last, so that every module the rules above added is looked at too.
    using L = ClosureOptions::Libgcc;
    if (options.rule_libgcc_s == L::kAlways) {
      lib("libgcc_s.so.1", "rule: libgcc_s (dlopen()ed by glibc for unwinding)");
    } else if (options.rule_libgcc_s == L::kAuto) {
      if (auto who = UnwindingUser())
        lib("libgcc_s.so.1", "rule: libgcc_s (" + *who + ", which makes glibc dlopen() it)");
    }
  }

  // The first ELF file of the closure whose imports make glibc load libgcc_s, described as
  // "<path> imports <symbol>"; nullopt when none does.
  std::optional<std::string> UnwindingUser() {
    static const std::set<std::string, std::less<>> kTriggers = {
        "pthread_cancel",    "pthread_exit",          "thrd_exit",           "backtrace",
        "__frame_state_for", "__pthread_unwind_next", "__gcc_personality_v0"};
    for (const auto& [path, n] : nodes) {
      if (n.kind != NodeKind::kFile || !IsElfFile(n.source)) continue;
      std::optional<Result<ElfInfo>> mapped;
      const Result<ElfInfo>& info = NodeInfo(n, &mapped);
      if (!info || !info->has_dynamic) continue;  // unreadable files were reported by the trace
      if (!info->imports_known) return path + " has no readable symbol table";
      for (const auto& s : info->imports)
        if (kTriggers.count(s) || s.rfind("_Unwind_", 0) == 0) return path + " imports " + s;
    }
    return std::nullopt;
  }

  // The first ELF file of the closure that may open an IPv4 socket, described as
  // "<path> imports socket" (or why it cannot be told); nullopt when none may.
  std::optional<std::string> Ipv4User() {
    for (const auto& [path, n] : nodes) {
      if (n.kind != NodeKind::kFile || !IsElfFile(n.source)) continue;
      std::optional<Result<ElfInfo>> mapped;
      const Result<ElfInfo>& info = NodeInfo(n, &mapped);
      if (!info) return path + " is an ELF file that cannot be read";
      if (info->type != 2 /* ET_EXEC */ && info->type != 3 /* ET_DYN */) continue;  // objects, cores
      // A static program makes its system calls itself: nothing says it never opens a socket.
      // static-pie has a dynamic table (to relocate itself) but no interpreter; DF_1_PIE tells
      // it from a shared library, ld.so included.
      constexpr uint64_t kDf1Pie = 0x08000000;
      if (!info->has_dynamic || (info->interpreter.empty() && (info->flags_1 & kDf1Pie)))
        return path + " is statically linked";
      if (!info->imports_known) return path + " has no readable symbol table";
      if (std::binary_search(info->imports.begin(), info->imports.end(), "socket"))
        return path + " imports socket";
    }
    return std::nullopt;
  }
};

Closure::Closure(ClosureOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Closure::~Closure() = default;

bool Closure::IsDirectory(const std::string& path) {
  const RootFs::Walked& w = impl_->fs.Walk(path);
  return w.ok && w.is_dir;
}

void Closure::Add(const std::string& path, const std::string& reason) {
  // A directory named here is an include tree (see AddTree), with its lenient script rule.
  impl_->lenient_scripts = IsDirectory(path);
  impl_->Add(path, reason);
  impl_->lenient_scripts = false;
}
void Closure::AddTree(const std::string& path, const std::string& reason) {
  impl_->lenient_scripts = true;
  impl_->AddTree(path, reason);
  impl_->lenient_scripts = false;
}

void Closure::AddDirectory(const std::string& path, const std::string& reason) {
  auto w = impl_->Locate(path, reason);
  if (!w || !w->is_dir)
    return impl_->Problem(path + " (" + reason + "): not a directory in " + impl_->options.root.string());
  impl_->AddNode(w->real, NodeKind::kDirectory, reason);
}

std::string Closure::RealPath(const std::string& path) {
  const RootFs::Walked& w = impl_->fs.Walk(path);
  return w.ok ? w.real : "";
}

void Closure::AddMapped(const std::string& guest_path, const std::filesystem::path& host_path,
                        const std::string& reason) {
  std::string g = JoinGuest("/", guest_path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(host_path, ec))
    return impl_->Problem(g + " (" + reason + "): host file " + host_path.string() +
                          " not found or not a regular file");
  impl_->AddNode(g, NodeKind::kFile, reason, host_path.string());
  impl_->Trace(g, g, host_path.string());
}

void Closure::AddEntrypoint(const std::string& path, const std::string& reason) {
  const RootFs::Walked& w = impl_->fs.Walk(path);
  if (!w.ok) return impl_->Problem(path + " (" + reason + "): not found in " + impl_->options.root.string());
  if (w.is_dir) return impl_->Problem(path + " (" + reason + "): is a directory, not a program");
  impl_->AddEntrypoint(path, impl_->fs.Host(w.real), reason);
  impl_->Add(path, reason);
}

void Closure::AddMappedEntrypoint(const std::string& guest_path,
                                  const std::filesystem::path& host_path, const std::string& reason) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(host_path, ec))
    impl_->AddEntrypoint(JoinGuest("/", guest_path), host_path.string(), reason);
  AddMapped(guest_path, host_path, reason);
}

const std::vector<std::string>& Closure::warnings() const { return impl_->warnings; }

Status Closure::Finish() {
  impl_->ApplyRules();
  for (const auto& p : impl_->loader.config_problems()) impl_->Problem(p);
  if (impl_->problems.empty()) return Ok{};
  std::string msg;
  for (const auto& p : impl_->problems) msg += (msg.empty() ? "" : "\n") + p;
  return Err(msg);
}

std::optional<std::string> Closure::Ipv4User() { return impl_->Ipv4User(); }

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
