// Path lookup inside a build root, the way the kernel would resolve it in the guest.
//
// Every component is lstat()ed under the root; symlinks are followed with their link text
// interpreted inside the root (absolute text restarts at the root, never at the host "/"), and
// each link met is remembered so the image can recreate it. Loops (ELOOP) and more than 40
// link hops fail the lookup. Results are memoized: the closure asks for the same directories
// thousands of times.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace arrow::builder {

class RootFs {
 public:
  struct Walked {
    bool ok = false;
    bool is_dir = false;
    std::string real;                // symlink-free guest path
    std::vector<std::string> links;  // guest paths of the symlinks met, in order
    dev_t dev = 0;
    ino_t ino = 0;
  };

  explicit RootFs(std::filesystem::path root);

  // Looks up an absolute guest path ("/lib64/ld-linux-x86-64.so.2").
  const Walked& Walk(const std::string& guest);
  // The link text of a symlink returned in Walked::links.
  const std::string& LinkText(const std::string& guest) const;
  // Host path of a guest path.
  std::string Host(const std::string& guest) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  const Walked& WalkDepth(const std::string& guest, int depth);

  std::filesystem::path root_;
  std::string prefix_;  // root without trailing '/', "" for "/"
  std::unordered_map<std::string, std::unique_ptr<Walked>> memo_;
  std::map<std::string, std::string> link_text_;
  Walked failed_;
};

// Lexically joins and normalizes an absolute guest path ("/a//b/./c" -> "/a/b/c"); ".." is kept.
std::string JoinGuest(const std::string& dir, const std::string& name);

}  // namespace arrow::builder
