// Process confinement of the VMM child; see jail.h.
#include "runner/jail/jail.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace arrow::runner::jail {
namespace {

// At most this many descriptors: the VMM's own (~10 + 2 per vCPU and device) plus libslirp's
// sockets, one per guest connection.
constexpr rlim_t kMaxFds = 4096;

Error Sys(const char* what) { return Err(what, ": ", std::strerror(errno)); }

Status WriteFile(const char* path, const std::string& text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Err("open ", path, ": ", std::strerror(errno));
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int e = errno;
  close(fd);
  if (!ok) return Err("write ", path, ": ", std::strerror(e));
  return Ok{};
}

// In a private mount namespace: a fresh tmpfs over /tmp (only in this namespace) becomes the
// root; the old root is detached. With `resolv_conf`, /etc/resolv.conf is bind-mounted into it
// read-only first.
Status EnterEmptyRoot(bool resolv_conf) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return Sys("making the mounts private");
  if (mount("arrow-vmm", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755") != 0)
    return Sys("mounting the empty root (tmpfs)");
  if (mkdir("/tmp/old", 0700) != 0) return Sys("mkdir old root");
  struct stat st {};
  if (resolv_conf && stat("/etc/resolv.conf", &st) == 0 && S_ISREG(st.st_mode)) {
    if (mkdir("/tmp/etc", 0755) != 0) return Sys("mkdir /etc in the empty root");
    const int fd = open("/tmp/etc/resolv.conf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Sys("creating /etc/resolv.conf in the empty root");
    close(fd);
    if (mount("/etc/resolv.conf", "/tmp/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)
      return Sys("bind-mounting /etc/resolv.conf");
    if (mount(nullptr, "/tmp/etc/resolv.conf", nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
      return Sys("making /etc/resolv.conf read-only");
  }
  if (syscall(SYS_pivot_root, "/tmp", "/tmp/old") == 0) {
    if (chdir("/") != 0) return Sys("chdir /");
    if (umount2("/old", MNT_DETACH) != 0) return Sys("detaching the host's root");
  } else if (errno == EINVAL) {
    // The host's root is an initramfs (rootfs), which cannot be pivoted away: move the tmpfs
    // over it and chroot, as switch_root does. Without capabilities (dropped below) there is
    // no way back out of the chroot.
    if (chdir("/tmp") != 0) return Sys("chdir to the empty root");
    if (mount("/tmp", "/", nullptr, MS_MOVE, nullptr) != 0) return Sys("moving the empty root over /");
    if (chroot(".") != 0) return Sys("chroot");
    if (chdir("/") != 0) return Sys("chdir /");
  } else {
    return Sys("pivot_root");
  }
  if (rmdir("/old") != 0) return Sys("rmdir old root");
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0)
    return Sys("making the empty root read-only");
  return Ok{};
}

// Non-root: a user namespace mapping our own ids makes the mount namespace possible.
Status EnterUserNamespace() {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return Sys("unshare(CLONE_NEWUSER|CLONE_NEWNS)");
  ARROW_TRY(WriteFile("/proc/self/setgroups", "deny"));
  ARROW_TRY(WriteFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1"));
  ARROW_TRY(WriteFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1"));
  return Ok{};
}

Status DropCapabilities() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  if (syscall(SYS_capset, &h, d) != 0) return Sys("capset (dropping capabilities)");
  return Ok{};
}

}  // namespace

std::vector<int> OpenFds() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return fds;
  const int self = dirfd(d);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const int fd = std::atoi(e->d_name);
    if (fd != self) fds.push_back(fd);
  }
  closedir(d);
  return fds;
}

Ids DropTarget(const JailOptions& o) {
  Ids ids{65534, 65534};
  if (const passwd* pw = getpwnam("nobody")) ids = {pw->pw_uid, pw->pw_gid};
  if (o.uid) ids.uid = *o.uid;
  if (o.gid) ids.gid = *o.gid;
  return ids;
}

Result<Confinement> Confine(const JailOptions& o, const std::vector<int>& close_fds) {
  Confinement c;
  for (int fd : close_fds)
    if (close(fd) == 0) c.closed_fds++;

  const rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) return Sys("setrlimit(RLIMIT_CORE)");
  rlimit fds{};
  getrlimit(RLIMIT_NOFILE, &fds);
  fds.rlim_max = std::min(fds.rlim_max, kMaxFds);
  fds.rlim_cur = std::min(fds.rlim_cur, fds.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &fds) != 0) return Sys("setrlimit(RLIMIT_NOFILE)");

  const bool root = geteuid() == 0;
  if (root) {
    const Ids ids = DropTarget(o);  // before the empty root hides /etc/passwd
    if (unshare(CLONE_NEWNS) != 0) return Sys("unshare(CLONE_NEWNS)");
    ARROW_TRY(EnterEmptyRoot(o.resolv_conf));
    c.empty_root = true;
    if (setgroups(0, nullptr) != 0) return Sys("setgroups");
    if (setresgid(ids.gid, ids.gid, ids.gid) != 0) return Sys("setresgid");
    if (setresuid(ids.uid, ids.uid, ids.uid) != 0) return Sys("setresuid");
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    if (r != ids.uid || e != ids.uid || s != ids.uid) return Err("the uid did not change");
    if (ids.uid == 0) ARROW_TRY(DropCapabilities());  // --uid 0: root without capabilities
  } else if (auto st = EnterUserNamespace(); !st) {
    c.root_note = st.message();  // e.g. unprivileged user namespaces disabled: host root stays
  } else {
    ARROW_TRY(EnterEmptyRoot(o.resolv_conf));
    c.empty_root = true;
    ARROW_TRY(DropCapabilities());  // the namespace's capabilities, which we no longer need
  }
  c.uid = geteuid();
  c.gid = getegid();
  // Not dumpable: no core file, no ptrace or /proc/PID/mem by other processes of the same uid.
  // Last: a credential change resets the flag to fs.suid_dumpable.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Sys("prctl(PR_SET_DUMPABLE)");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Sys("prctl(PR_SET_NO_NEW_PRIVS)");
  return c;
}

}  // namespace arrow::runner::jail
