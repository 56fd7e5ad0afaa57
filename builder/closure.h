// Loader-exact dependency closure: the set of files glibc's ld.so would load for a program,
// computed without running it, plus every symlink met on the way.
//
// Everything happens inside a build root (host "/" by default, or --sysroot DIR): all lookups,
// ld.so.cache, ld.so.conf and symlink targets are read relative to that root, and every path in
// the result is a guest path (absolute, as the app will see it). The rules follow glibc's
// elf/dl-load.c: DT_RPATH of the loading object and its loaders (unless DT_RUNPATH is present),
// LD_LIBRARY_PATH, DT_RUNPATH (direct deps only), ld.so.cache (with glibc-hwcaps), default dirs;
// $ORIGIN/$LIB/$PLATFORM; candidates of the wrong class/machine are skipped as ld.so skips them.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::builder {

enum class NodeKind { kFile, kSymlink, kDirectory };

// One object the image must contain.
struct Node {
  std::string path;         // guest path, absolute, normalized ("/usr/lib/x86_64-linux-gnu/libc.so.6")
  NodeKind kind = NodeKind::kFile;
  std::string source;       // host path the content comes from (root + path unless mapped)
  std::string link_target;  // kSymlink: the link text as stored (readlink)
  std::string reason;       // why it is in the image, e.g. "entrypoint", "DT_NEEDED of /usr/bin/curl",
                            // "interpreter of /usr/bin/curl", "symlink to /usr/lib/...", "[files]",
                            // "rule: nss (nsswitch.conf: files)", "#! interpreter of /usr/bin/foo"
};

struct ClosureOptions {
  std::filesystem::path root = "/";         // build root
  std::vector<std::string> ld_library_path;  // from the recipe env (already split on ':' and ';')
  std::vector<std::string> path = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                                   "/sbin", "/bin"};  // for "#!/usr/bin/env NAME"
  std::string platform = "x86_64";           // $PLATFORM
  bool rule_nss = true;       // glibc NSS modules named in <root>/etc/nsswitch.conf (+ the file)
  // libgcc_s.so.1, dlopen()ed by glibc's pthread_cancel, pthread_exit, thrd_exit and backtrace:
  // kAuto packs it when some ELF file of the closure imports one of them (or the unwinder's own
  // entry points), kAlways and kNever force the choice (a program that finds them with dlsym).
  enum class Libgcc { kAuto, kAlways, kNever };
  Libgcc rule_libgcc_s = Libgcc::kAuto;
  bool rule_gconv = false;    // glibc iconv modules (gconv-modules + *.so), large: opt-in
  // FDO dlopen notes (.note.dlopen) of every packed ELF file: entries of this priority or a
  // stronger one are packed, resolved as a dlopen() from that file would. A "required" entry
  // that resolves to nothing is a build error; weaker ones are skipped with a warning.
  enum class Dlopen { kRequired, kRecommended, kSuggested };
  Dlopen rule_dlopen = Dlopen::kRecommended;
  std::vector<std::string> exclude;  // fnmatch(3) patterns on guest paths, for AddTree
};

class Closure {
 public:
  explicit Closure(ClosureOptions options);
  ~Closure();
  Closure(const Closure&) = delete;
  Closure& operator=(const Closure&) = delete;

  // Adds the object at guest path `path` (looked up in the root), following symlinks (each link
  // becomes a kSymlink node, parents included, e.g. /lib -> usr/lib) and tracing it if it is an
  // ELF or a "#!" script. Directories are added as a whole (see AddTree).
  void Add(const std::string& path, const std::string& reason);
  // Adds a directory tree recursively (files, symlinks, empty dirs), skipping `exclude` matches;
  // every ELF inside is traced.
  void AddTree(const std::string& path, const std::string& reason);
  // Adds only the directory at `path` (and the symlinks on the way), not its contents: a
  // directory a traced run listed.
  void AddDirectory(const std::string& path, const std::string& reason);
  // Whether `path` resolves to a directory of the root (what Add treats as an include tree).
  bool IsDirectory(const std::string& path);
  // The real guest path of `path` after every symlink, or "" if it does not resolve.
  std::string RealPath(const std::string& path);
  // Adds a host file at a guest path it does not have in the root ([files] map); it is traced,
  // with its dependencies looked up in the root.
  void AddMapped(const std::string& guest_path, const std::filesystem::path& host_path,
                 const std::string& reason);

  // The app's program: like Add/AddMapped, but it must exist, be executable (x bit) and be an
  // ELF executable or a "#!" script; otherwise Finish() reports why.
  void AddEntrypoint(const std::string& path, const std::string& reason);
  void AddMappedEntrypoint(const std::string& guest_path, const std::filesystem::path& host_path,
                           const std::string& reason);

  // Applies the rules, then reports problems: every missing library (with who needs it), a
  // missing entrypoint, a non-ELF where an ELF was required... all in one error, one per line.
  Status Finish();

  // Problems that do not fail the build (a script inside an include tree whose interpreter is
  // missing, as it is in the build root itself).
  const std::vector<std::string>& warnings() const;

  // Whether the packed programs may use IPv4 (the tuned kernel's `inet` fragment): the first
  // ELF file that imports socket(3), is statically linked or has no readable symbol table,
  // described as "<path> imports socket"; nullopt when none does. After Finish().
  std::optional<std::string> Ipv4User();

  // All nodes by guest path (parents of files are implied, not listed unless added).
  const std::map<std::string, Node>& nodes() const;

  // For the ldd comparison and `arrow inspect`: the libraries ld.so would load for the ELF at
  // guest `path`, transitively, including the interpreter, as the paths the loader found them
  // under (not real paths). Libraries it cannot find are returned in `missing`.
  struct Resolution {
    std::vector<std::string> loaded;
    std::vector<std::string> missing;
  };
  Result<Resolution> Resolve(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arrow::builder
