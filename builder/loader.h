// An offline model of glibc 2.36's ld.so (elf/dl-load.c, elf/dl-deps.c): given a program in a
// build root, which files would the loader map, in which order, found under which paths.
//
// Per object, a NEEDED name without '/' is searched in: DT_RPATH of the loading object and of
// each object up its loader chain (skipped entirely when the loading object has DT_RUNPATH),
// LD_LIBRARY_PATH, the loading object's DT_RUNPATH, /etc/ld.so.cache, the default dirs (cache
// and default dirs skipped under DF_1_NODEFLIB). Every directory is tried with the hwcap
// subdirectories of SearchSubdirs(). Candidates of the wrong ELF class or machine are skipped.
// Names already loaded (by path given, by NEEDED name or by DT_SONAME), and files already loaded
// under another path (same device/inode), are not loaded twice. Dependencies are loaded
// breadth-first, so an object's "loader" is the first object that needed it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/closure.h"
#include "builder/elf.h"
#include "builder/ldcache.h"
#include "builder/root_fs.h"

namespace arrow::builder {

class Loader {
 public:
  struct Loaded {
    std::string path;       // guest path as the loader opened it (l_name)
    std::string needed_by;  // l_name of the object whose NEEDED (or PT_INTERP) brought it in
    bool interpreter = false;
  };
  struct Missing {
    std::string name;
    std::string needed_by;
    std::string searched;  // human summary of the search path
  };
  struct Outcome {
    std::vector<Loaded> loaded;
    std::vector<Missing> missing;
  };

  Loader(const ClosureOptions& options, RootFs& fs);

  // Loads the ELF at guest `path` as the main program (its bytes come from `host` if given).
  // Errors: the program itself is unreadable or not ELF, a loaded library is a corrupt ELF.
  Result<Outcome> LoadProgram(const std::string& path, const std::string& host = "");

  // Searches `name` as dlopen() called from an object without RPATH/RUNPATH (libc) would.
  std::optional<std::string> SearchFromLibc(const std::string& name);
  // Searches `name` as dlopen() called from the ELF at guest `object` would: its DT_RUNPATH, or
  // its DT_RPATH, with $ORIGIN its directory; then LD_LIBRARY_PATH, the cache, default dirs.
  std::optional<std::string> SearchFromObject(const std::string& name, const std::string& object);

  // Problems with the search configuration (a corrupt ld.so.cache), reported by Finish().
  const std::vector<std::string>& config_problems() const { return config_problems_; }

  // Cached ELF facts of a guest path (real path after symlinks).
  const arrow::Result<ElfInfo>& Info(const std::string& real);

 private:
  struct Obj;
  std::optional<std::string> Search(const std::string& name, const std::vector<Obj>& objs,
                                    size_t loader, std::string* summary);
  std::optional<std::string> TryDirs(const std::vector<std::string>& dirs, const std::string& name);
  bool Verify(const std::string& guest);
  std::vector<std::string> ExpandPath(const std::string& list, const std::string& origin);
  std::string ExpandOne(const std::string& element, const std::string& origin);

  const ClosureOptions& options_;
  RootFs& fs_;
  std::vector<std::string> subdirs_;
  std::optional<LdCache> cache_;
  std::vector<std::string> conf_dirs_;  // only when the root has no cache
  std::vector<std::string> config_problems_;
  int level_ = 1;
  std::map<std::string, arrow::Result<ElfInfo>> info_;
};

}  // namespace arrow::builder
