#include "common/file_util.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace arrow {
namespace fs = std::filesystem;

fs::path DefaultCacheDir() {
  if (const char* v = std::getenv("ARROW_CACHE_DIR"); v && *v) return v;
  if (const char* v = std::getenv("XDG_CACHE_HOME"); v && *v == '/') return fs::path(v) / "arrow";
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const passwd* pw = ::getpwuid(::getuid());
    home = pw ? pw->pw_dir : "/tmp";
  }
  return fs::path(home) / ".cache" / "arrow";
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(path.string(), ": cannot open: ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Err(path.string(), ": read error");
  return ss.str();
}

Status WriteFileAtomic(const fs::path& path, std::string_view data) {
  auto f = AtomicFile::Create(path);
  if (!f) return f.error();
  ARROW_TRY(f->Write(data));
  return f->Commit();
}

Result<AtomicFile> AtomicFile::Create(const fs::path& dest) {
  fs::path dir = dest.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmpl = (dir / ("." + dest.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = mkstemp(buf.data());
  if (fd < 0) return Err(dest.string(), ": cannot create a temporary file in ", dir.string(), ": ",
                         std::strerror(errno));
  return AtomicFile(dest, fs::path(buf.data()), fd);
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : dest_(std::move(o.dest_)), temp_(std::move(o.temp_)), fd_(o.fd_), committed_(o.committed_) {
  o.fd_ = -1;
  o.committed_ = true;
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_ && !temp_.empty()) unlink(temp_.c_str());
}

Status AtomicFile::Write(std::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Err(temp_.string(), ": write failed: ", std::strerror(errno));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Ok{};
}

Status AtomicFile::Commit() {
  if (fchmod(fd_, 0644) != 0 || fsync(fd_) != 0)
    return Err(temp_.string(), ": cannot sync: ", std::strerror(errno));
  if (close(fd_) != 0) {
    fd_ = -1;
    return Err(temp_.string(), ": close failed: ", std::strerror(errno));
  }
  fd_ = -1;
  if (rename(temp_.c_str(), dest_.c_str()) != 0)
    return Err(dest_.string(), ": cannot rename into place: ", std::strerror(errno));
  committed_ = true;
  return Ok{};
}

Result<TempDir> TempDir::Create(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return Err("cannot create a temporary directory: ", std::strerror(errno));
  return TempDir(fs::path(buf.data()));
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace arrow
