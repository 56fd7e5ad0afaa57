// Offline model of glibc 2.36's ld.so dependency loading (see loader.h).
#include "builder/loader.h"

#include <elf.h>

#include <cstring>

namespace arrow::builder {
namespace {

// Compiled-in system search path of Debian 12's ld.so (`ld.so --help`, "system search path").
const std::vector<std::string> kDefaultDirs = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                               "/lib", "/usr/lib"};
// $LIB on Debian 12 x86-64: ld.so expands it to the multiarch slibdir tail, checked with
// `LD_DEBUG=libs` on a binary with RUNPATH '$LIB'.
constexpr const char* kDstLib = "lib/x86_64-linux-gnu";

std::string Dirname(const std::string& p) {
  size_t s = p.rfind('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& d : v) s += (s.empty() ? "" : ":") + d;
  return s;
}

}  // namespace

struct Loader::Obj {
  std::string name;                // l_name
  std::vector<std::string> names;  // l_libname: names it was loaded under
  std::string origin;              // $ORIGIN
  const ElfInfo* info = nullptr;
  size_t loader = SIZE_MAX;  // l_loader index, SIZE_MAX for the program
  dev_t dev = 0;
  ino_t ino = 0;
};

Loader::Loader(const ClosureOptions& options, RootFs& fs) : options_(options), fs_(fs) {
  level_ = HostX86Level();
  subdirs_ = SearchSubdirs(level_, options.platform);
  auto c = LoadLdCache(fs.root());
  if (!c) {
    config_problems_.push_back(c.message());
  } else if (c->has_value()) {
    cache_ = std::move(**c);
  } else {
    // No cache in the root: ld.so would only search the default dirs, but a root without a
    // cache is a root nobody ran ldconfig in; searching its ld.so.conf dirs (what ldconfig would
    // have cached) gives what the image will load once ldconfig runs there.
    conf_dirs_ = ReadLdSoConf(fs.root());
  }
}

const arrow::Result<ElfInfo>& Loader::Info(const std::string& real) {
  auto it = info_.find(real);
  if (it == info_.end()) it = info_.emplace(real, ReadElf(fs_.Host(real))).first;
  return it->second;
}

// open_verify(): the candidate must exist and be an ELF of our class and machine; a candidate
// of another class/machine is skipped silently, exactly as ld.so does (found_other_class).
bool Loader::Verify(const std::string& guest) {
  const RootFs::Walked& w = fs_.Walk(guest);
  if (!w.ok || w.is_dir) return false;
  const auto& info = Info(w.real);
  if (!info) return false;
  return info->elf_class == ELFCLASS64 && info->machine == EM_X86_64;
}

// Expands $ORIGIN, $LIB, $PLATFORM (and ${...}) in a ':'-separated list; relative and empty
// elements are relative to the cwd, which for the guest program is "/".
std::vector<std::string> Loader::ExpandPath(const std::string& list, const std::string& origin) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(':', i);
    if (j == std::string::npos) j = list.size();
    out.push_back(ExpandOne(list.substr(i, j - i), origin));
    i = j + 1;
  }
  return out;
}

std::string Loader::ExpandOne(const std::string& e, const std::string& origin) {
  std::string x;
  for (size_t k = 0; k < e.size();) {
    if (e[k] != '$') {
      x += e[k++];
      continue;
    }
    auto tok = [&](const char* n) -> size_t {
      size_t len = strlen(n);
      if (e.compare(k + 1, len, n) == 0 &&
          (k + 1 + len == e.size() || !(isalnum(e[k + 1 + len]) || e[k + 1 + len] == '_')))
        return len + 1;
      if (e.compare(k + 1, 1, "{") == 0 && e.compare(k + 2, len, n) == 0 &&
          e.compare(k + 2 + len, 1, "}") == 0)
        return len + 3;
      return 0;
    };
    if (size_t n = tok("ORIGIN"))
      x += origin, k += n;
    else if (size_t n = tok("LIB"))
      x += kDstLib, k += n;
    else if (size_t n = tok("PLATFORM"))
      x += options_.platform, k += n;
    else
      x += e[k++];
  }
  return JoinGuest("/", x);
}

std::optional<std::string> Loader::TryDirs(const std::vector<std::string>& dirs,
                                           const std::string& name) {
  for (const auto& d : dirs) {
    for (const auto& sub : subdirs_) {
      std::string cand = (d == "/" ? "" : d) + "/" + sub + name;
      if (Verify(cand)) return cand;
    }
  }
  return std::nullopt;
}

std::optional<std::string> Loader::Search(const std::string& name, const std::vector<Obj>& objs,
                                          size_t loader, std::string* summary) {
  const Obj& L = objs[loader];
  std::vector<std::string> parts;
  auto attempt = [&](const char* what,
                     const std::vector<std::string>& dirs) -> std::optional<std::string> {
    if (dirs.empty()) return std::nullopt;
    parts.push_back(std::string(what) + " " + Join(dirs));
    return TryDirs(dirs, name);
  };
  if (!L.info->runpath) {
    for (size_t l = loader; l != SIZE_MAX; l = objs[l].loader) {
      if (!objs[l].info->rpath) continue;
      if (auto r = attempt("RPATH", ExpandPath(*objs[l].info->rpath, objs[l].origin))) return r;
    }
  }
  std::vector<std::string> llp;
  for (const auto& d : options_.ld_library_path)
    for (auto& e : ExpandPath(d, objs[0].origin)) llp.push_back(e);
  if (auto r = attempt("LD_LIBRARY_PATH", llp)) return r;
  if (L.info->runpath)
    if (auto r = attempt("RUNPATH", ExpandPath(*L.info->runpath, L.origin))) return r;
  if (L.info->flags_1 & DF_1_NODEFLIB) {
    parts.push_back("(DF_1_NODEFLIB: no cache, no default dirs)");
  } else {
    if (cache_) {
      parts.push_back("/etc/ld.so.cache");
      if (auto hit = cache_->Lookup(name, level_); hit && Verify(*hit)) return *hit;
    } else if (auto r = attempt("ld.so.conf (no ld.so.cache in root)", conf_dirs_)) {
      return r;
    }
    if (auto r = attempt("default dirs", kDefaultDirs)) return r;
  }
  if (summary) {
    summary->clear();
    for (const auto& p : parts) *summary += (summary->empty() ? "" : "; ") + p;
  }
  return std::nullopt;
}

std::optional<std::string> Loader::SearchFromLibc(const std::string& name) {
  static const ElfInfo kPlain;
  std::vector<Obj> objs(1);
  objs[0].name = "/";
  objs[0].origin = "/";
  objs[0].info = &kPlain;
  return Search(name, objs, 0, nullptr);
}

std::optional<std::string> Loader::SearchFromObject(const std::string& name,
                                                    const std::string& object) {
  const arrow::Result<ElfInfo>& info = Info(object);
  if (!info) return SearchFromLibc(name);
  std::vector<Obj> objs(1);
  objs[0].name = object;
  objs[0].origin = object.substr(0, object.rfind('/'));
  if (objs[0].origin.empty()) objs[0].origin = "/";
  objs[0].info = &*info;
  return Search(name, objs, 0, nullptr);
}

arrow::Result<Loader::Outcome> Loader::LoadProgram(const std::string& path,
                                                   const std::string& host) {
  Outcome out;
  std::vector<Obj> objs;
  Obj main;
  main.name = path;
  ElfInfo host_info;
  if (!host.empty()) {
    auto r = ReadElf(host);
    if (!r) return r.error();
    host_info = std::move(*r);
    main.info = &host_info;
    main.origin = Dirname(JoinGuest("/", path));
  } else {
    const RootFs::Walked& w = fs_.Walk(path);
    if (!w.ok || w.is_dir) return Err(path, ": not found in ", fs_.root().string());
    const auto& r = Info(w.real);
    if (!r) return r.error();
    main.info = &*r;
    // $ORIGIN of the program: the kernel's /proc/self/exe, i.e. the symlink-free path.
    main.origin = Dirname(w.real);
    main.dev = w.dev, main.ino = w.ino;
  }
  main.names.push_back(path);
  objs.push_back(std::move(main));
  const std::string interp = objs[0].info->interpreter;
  if (!interp.empty()) {
    const RootFs::Walked& w = fs_.Walk(interp);
    if (!w.ok || w.is_dir || !Info(w.real)) {
      out.missing.push_back({interp, path, "PT_INTERP path"});
    } else {
      Obj rtld;
      rtld.name = interp;
      rtld.names = {interp, Info(w.real)->soname};
      rtld.info = &*Info(w.real);
      rtld.origin = Dirname(interp);
      rtld.loader = 0;
      rtld.dev = w.dev, rtld.ino = w.ino;
      objs.push_back(std::move(rtld));
      out.loaded.push_back({interp, path, true});
    }
  }
  const size_t first_dep = objs.size();
  for (size_t cur = 0; cur < objs.size(); ++cur) {
    if (cur > 0 && cur < first_dep) continue;  // ld.so itself has no NEEDED worth following
    const std::vector<std::string> needed = objs[cur].info->needed;
    for (const std::string& name : needed) {
      auto match = [&](const Obj& o) {
        if (o.name == name) return true;
        for (const auto& n : o.names)
          if (n == name) return true;
        return o.info->soname == name;
      };
      bool done = false;
      for (auto& o : objs)
        if (match(o)) {
          done = true;
          break;
        }
      if (done) continue;
      std::optional<std::string> found;
      std::string summary;
      if (name.find('/') != std::string::npos) {
        std::string cand = ExpandOne(name, objs[cur].origin);
        if (Verify(cand)) found = cand;
        summary = "path " + cand;
      } else {
        found = Search(name, objs, cur, &summary);
      }
      if (!found) {
        out.missing.push_back({name, objs[cur].name, summary});
        continue;
      }
      const RootFs::Walked& w = fs_.Walk(*found);
      bool same = false;
      for (auto& o : objs)
        if (o.ino == w.ino && o.dev == w.dev) {
          o.names.push_back(name);
          same = true;
          break;
        }
      if (same) continue;
      const auto& info = Info(w.real);
      if (!info) return info.error();
      Obj o;
      o.name = *found;
      o.names = {name};
      o.origin = Dirname(*found);
      o.info = &*info;
      o.loader = cur;
      o.dev = w.dev, o.ino = w.ino;
      objs.push_back(std::move(o));
      out.loaded.push_back({*found, objs[cur].name, false});
    }
  }
  return out;
}

}  // namespace arrow::builder
