// Volumes on the host: -v parsing, ext4 superblock checks, locking, creation; see volume.h.
#include "runner/volume.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/guest_path.h"
#include "common/uuid.h"
#include "runner/spawn.h"

namespace arrow::runner {
namespace fs = std::filesystem;
namespace {

constexpr uint16_t kExt4Magic = 0xef53;

uint32_t Le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

Result<std::string> NormaliseGuestPath(const std::string& path, const std::string& what) {
  if (path.empty() || path[0] != '/')
    return Err(what, " '", path, "': the guest path must be absolute (start with /)");
  std::string out;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    const std::string part = path.substr(i, j - i);
    i = j + 1;
    if (part.empty()) continue;  // "//" and a trailing "/"
    if (part == "." || part == "..")
      return Err(what, " '", path, "': '", part, "' is not allowed in a guest path");
    for (unsigned char c : part)
      if (c <= ' ' || c == 0x7f)
        return Err(what, " '", path, "': no spaces or control characters in a guest path");
    out += "/" + part;
  }
  if (out.empty()) return Err(what, " '", path, "': cannot mount over the guest's root");
  if (const char* reserved = ReservedGuestPath(out))
    return Err(what, " '", path, "': ", reserved, " belongs to the kernel or to arrow-init");
  return out;
}

Result<VolumeFlag> ParseVolumeFlag(const std::string& text) {
  VolumeFlag v;
  std::string rest = text;
  // Options after the guest path: the last ':' if what follows is ro or rw.
  if (size_t c = rest.rfind(':'); c != std::string::npos) {
    const std::string opt = rest.substr(c + 1);
    if (opt == "ro" || opt == "rw") {
      v.read_only = opt == "ro";
      rest.resize(c);
    }
  }
  const size_t c = rest.find(":/");
  if (c == 0 || (c == std::string::npos && (rest.empty() || rest.find(':') == std::string::npos ||
                                            rest[0] == ':')))
    return Err("-v '", text, "': expected IMAGE:/guest/path[:ro] (e.g. pgdata.img:/var/lib/postgresql)");
  if (c == std::string::npos)
    return Err("-v '", text, "': the guest path must be absolute (IMAGE:/guest/path)");
  v.host = rest.substr(0, c);
  auto guest = NormaliseGuestPath(rest.substr(c + 1), "-v " + v.host);
  if (!guest) return guest.error();
  v.guest = *guest;
  if (v.guest.find(':') != std::string::npos)
    return Err("-v '", text, "': unknown option after the guest path (only :ro and :rw)");
  return v;
}

Result<Ext4Info> InspectExt4(const fs::path& image) {
  const std::string name = image.string();
  struct stat st {};
  if (stat(name.c_str(), &st) != 0)
    return Err("volume ", name, ": ", std::strerror(errno),
               errno == ENOENT ? " (create it with: arrow volume create " + name + " --size 1G)" : "");
  if (S_ISDIR(st.st_mode))
    return Err("volume ", name, ": is a directory; a volume is an ext4 image file "
               "(make one from it with: arrow volume create IMAGE --size N --from ", name, ")");
  if (!S_ISREG(st.st_mode)) return Err("volume ", name, ": not a regular file");
  Ext4Info info;
  info.file_bytes = static_cast<uint64_t>(st.st_size);
  if (info.file_bytes % 512)
    return Err("volume ", name, ": its size (", std::to_string(info.file_bytes), " bytes) is not a multiple of 512");
  int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err("volume ", name, ": ", std::strerror(errno));
  uint8_t sb[1024];
  const ssize_t n = pread(fd, sb, sizeof sb, 1024);
  close(fd);
  uint16_t magic = 0;
  if (n == static_cast<ssize_t>(sizeof sb)) std::memcpy(&magic, sb + 0x38, 2);
  if (magic != kExt4Magic)
    return Err("volume ", name, ": not an ext4 image (no ext2/3/4 superblock; make one with "
               "arrow volume create)");
  const uint32_t log = Le32(sb + 0x18);
  if (log > 6) return Err("volume ", name, ": corrupt superblock (block size 2^", std::to_string(10 + log), ")");
  info.block_size = 1024u << log;
  const bool is64 = Le32(sb + 0x60) & 0x80;
  const uint64_t blocks = Le32(sb + 0x04) | (is64 ? uint64_t{Le32(sb + 0x150)} << 32 : 0);
  const uint64_t free = Le32(sb + 0x0c) | (is64 ? uint64_t{Le32(sb + 0x158)} << 32 : 0);
  info.fs_bytes = blocks * info.block_size;
  info.free_bytes = free * info.block_size;
  if (info.fs_bytes > info.file_bytes)
    return Err("volume ", name, ": the file (", std::to_string(info.file_bytes), " bytes) is smaller than its "
               "filesystem (", std::to_string(info.fs_bytes), " bytes): truncated?");
  uint16_t state;
  std::memcpy(&state, sb + 0x3a, 2);
  info.clean = (state & 1) && !(state & 2);
  info.errors = state & 2;
  info.journal = Le32(sb + 0x5c) & 0x4;
  info.uuid = FormatUuid(sb + 0x68);
  info.label.assign(reinterpret_cast<const char*>(sb + 0x78), strnlen(reinterpret_cast<const char*>(sb + 0x78), 16));
  return info;
}

DiskFile::~DiskFile() {
  if (fd_ >= 0) close(fd_);
}

Result<DiskFile> DiskFile::SealedMemory(const std::string& name, std::string_view data) {
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Err("memfd_create: ", std::strerror(errno));
  DiskFile f(fd, data.size());
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Err(name, ": write to memfd: ", std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
    return Err(name, ": seal memfd: ", std::strerror(errno));
  return f;
}

Result<DiskFile> DiskFile::OpenVolume(const VolumeFlag& v) {
  auto info = InspectExt4(v.host);
  if (!info) return info.error();
  int fd = open(v.host.c_str(), (v.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0)
    return Err("volume ", v.host, ": ", std::strerror(errno),
               errno == EACCES || errno == EROFS ? " (mount it with :ro to only read it)" : "");
  // A run that was just killed may still hold the lock for a moment: its confined VMM process
  // ends right after its arrow-run (PR_SET_PDEATHSIG), not with it. Wait up to 2 s for that.
  int rc = 0, e = 0;
  for (int tries = 0;; tries++) {
    rc = flock(fd, (v.read_only ? LOCK_SH : LOCK_EX) | LOCK_NB);
    e = errno;
    if (rc == 0 || e != EWOULDBLOCK || tries >= 40) break;
    usleep(50000);
  }
  if (rc != 0) {
    close(fd);
    if (e == EWOULDBLOCK)
      return Err("volume ", v.host, " is in use by another arrow-run",
                 v.read_only ? " that writes to it" : "",
                 " (locked); stop that one first, or attach it read-only (:ro) in every run");
    return Err("volume ", v.host, ": flock: ", std::strerror(e));
  }
  return DiskFile(fd, info->file_bytes);
}

std::string EncodeGuestMounts(const std::vector<GuestMount>& mounts) {
  std::string out;
  for (const auto& m : mounts) {
    out += m.kind == GuestMount::Kind::kTmpfs         ? "tmpfs"
           : m.kind == GuestMount::Kind::kExt4ReadOnly ? "ro"
                                                       : "rw";
    out.push_back('\0');
    for (const std::string* f : {&m.serial, &m.path, &m.name}) {
      out += *f;
      out.push_back('\0');
    }
  }
  return out;
}

std::string VolumeSerial(size_t index) { return "arrow-vol" + std::to_string(index); }

Status CreateVolume(const fs::path& path, const CreateVolumeOptions& o) {
  const std::string name = path.string();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec)))
    return Err("volume ", name, " already exists; refusing to overwrite it");
  if (o.size < kMinVolumeBytes)
    return Err("volume ", name, ": --size ", std::to_string(o.size), " bytes is below the minimum of ",
               std::to_string(kMinVolumeBytes >> 20), "M (ext4 and its journal need room)");
  if (o.size % 4096) return Err("volume ", name, ": --size must be a multiple of 4K");
  if (!o.from.empty() && !fs::is_directory(o.from, ec))
    return Err("volume ", name, ": --from ", o.from.string(), " is not a directory");
  std::string label = o.label.empty() ? path.stem().string() : o.label;
  if (label.size() > 16) label.resize(16);  // ext4 labels hold 16 bytes
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    return Err("volume ", name, ": directory ", dir.string(), " does not exist");
  const fs::path tmp = dir / ("." + path.filename().string() + ".creating");
  fs::remove(tmp, ec);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Err("volume ", name, ": create ", tmp.string(), ": ", std::strerror(errno));
  const bool sized = ftruncate(fd, static_cast<off_t>(o.size)) == 0;  // sparse until written
  const int trunc_errno = errno;
  close(fd);
  auto fail = [&](std::string why) -> Status {
    fs::remove(tmp, ec);
    return Err("volume ", name, ": ", why);
  };
  if (!sized) return fail(std::string("ftruncate: ") + std::strerror(trunc_errno));
  std::vector<std::string> argv = {"mke2fs", "-q", "-F", "-t", "ext4", "-L", label,
                                   "-E", "root_owner=" + (o.owner.empty() ? "0:0" : o.owner)};
  if (!o.from.empty()) argv.insert(argv.end(), {"-d", o.from.string()});
  argv.push_back(tmp.string());
  auto pid = SpawnChild(argv);
  if (!pid)
    return fail("cannot run mke2fs: " + pid.message() + " (install e2fsprogs)");
  int st = 0;
  while (waitpid(*pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return fail("mke2fs failed (exit status " +
                std::to_string(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)) +
                "; its message is above)");
  fd = open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    if (fd >= 0) close(fd);
    return fail(std::string("fsync: ") + std::strerror(errno));
  }
  close(fd);
  // link + unlink: like rename, but never replaces a file that appeared meanwhile.
  if (link(tmp.c_str(), name.c_str()) != 0) return fail(std::string("link: ") + std::strerror(errno));
  fs::remove(tmp, ec);
  return Ok{};
}

}  // namespace arrow::runner
