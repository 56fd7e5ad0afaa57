// Symlink-aware lookup of guest paths inside a build root (see root_fs.h).
#include "builder/root_fs.h"

#include <sys/stat.h>
#include <unistd.h>

namespace arrow::builder {

std::string JoinGuest(const std::string& dir, const std::string& name) {
  std::string in = name;
  if (name.empty() || name[0] != '/') {
    in = dir;
    in += '/';
    in += name;
  }
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    size_t j = in.find('/', i);
    if (j == std::string::npos) j = in.size();
    std::string_view c(in.data() + i, j - i);
    if (!c.empty() && c != ".") {
      out += '/';
      out += c;
    }
    i = j + 1;
  }
  return out.empty() ? "/" : out;
}

RootFs::RootFs(std::filesystem::path root) : root_(std::move(root)) {
  prefix_ = root_.string();
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

std::string RootFs::Host(const std::string& guest) const {
  return prefix_ + guest;
}

const std::string& RootFs::LinkText(const std::string& guest) const {
  static const std::string empty;
  auto it = link_text_.find(guest);
  return it == link_text_.end() ? empty : it->second;
}

const RootFs::Walked& RootFs::Walk(const std::string& guest) {
  return WalkDepth(JoinGuest("/", guest), 0);
}

// `guest` is normalized (no "//", no "."). Resolves the parent first (memoized), then the
// last component; ".." is applied to the resolved parent, as the kernel does.
const RootFs::Walked& RootFs::WalkDepth(const std::string& guest, int depth) {
  if (depth > 40) return failed_;
  if (auto it = memo_.find(guest); it != memo_.end()) {
    // A null entry is a lookup in progress: we came back to it through links (ELOOP).
    return it->second ? *it->second : failed_;
  }
  memo_[guest] = nullptr;
  auto w = std::make_unique<Walked>();
  if (guest == "/") {
    struct stat st;
    if (stat(Host("/").c_str(), &st) == 0) {
      w->ok = w->is_dir = true;
      w->real.assign(1, '/');  // not = "/": GCC 12 -Wrestrict false positive
      w->dev = st.st_dev, w->ino = st.st_ino;
    }
  } else {
    size_t slash = guest.rfind('/');
    std::string parent = slash == 0 ? "/" : guest.substr(0, slash);
    std::string base = guest.substr(slash + 1);
    const Walked& p = WalkDepth(parent, depth);
    if (p.ok && p.is_dir) {
      w->links = p.links;
      if (base == "..") {
        size_t s = p.real.rfind('/');
        std::string up = s == 0 ? "/" : p.real.substr(0, s);
        const Walked& u = WalkDepth(up, depth);
        if (u.ok) {
          auto links = w->links;
          *w = u;
          w->links = links;
        }
      } else {
        std::string cand = p.real == "/" ? std::string() : p.real;
        cand += '/';
        cand += base;
        struct stat st;
        if (lstat(Host(cand).c_str(), &st) == 0) {
          if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            ssize_t n = readlink(Host(cand).c_str(), buf, sizeof buf);
            if (n > 0) {
              std::string text(buf, static_cast<size_t>(n));
              link_text_[cand] = text;
              std::string target = JoinGuest(p.real, text);
              const Walked& t = WalkDepth(target, depth + 1);
              if (t.ok) {
                w->ok = true, w->is_dir = t.is_dir, w->real = t.real, w->dev = t.dev,
                w->ino = t.ino;
                w->links.push_back(cand);
                for (const auto& l : t.links) w->links.push_back(l);
              }
            }
          } else {
            w->ok = true;
            w->is_dir = S_ISDIR(st.st_mode);
            w->real = cand;
            w->dev = st.st_dev, w->ino = st.st_ino;
          }
        }
      }
    }
  }
  if (!w->ok) {
    w->links.clear();
  }
  auto& slot = memo_[guest];
  slot = std::move(w);
  return *slot;
}

}  // namespace arrow::builder
