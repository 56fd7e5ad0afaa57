// The VMM's confinement: each seccomp profile lets its thread's work through and stops a
// forbidden call with status 125 and a report naming it; Confine() closes, limits, empties the
// root and drops root. Every case runs in a forked child, whose status the test reads.
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "runner/jail/jail.h"
#include "runner/jail/seccomp.h"

namespace arrow::runner::jail {
namespace {

struct Child {
  int status = -1;
  std::string report;  // what the child wrote to the report pipe
};

// Runs `body` in a forked child with the SIGSYS report on a pipe; the child exits 0 when
// `body` returns.
Child InChild(const std::function<void()>& body) {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    if (!PrepareTrap(p[1])) _exit(90);
    body();
    _exit(0);
  }
  close(p[1]);
  Child c;
  char buf[256];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) c.report.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(pid, &c.status, 0);
  return c;
}

void MustInstall(Role r) {
  if (!Install(r)) _exit(91);
}

int ExitCode(const Child& c) { return WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1; }

TEST(Seccomp, EveryProfileStopsAForbiddenCallWith125AndNamesIt) {
  for (Role r : kRoles) {
    Child c = InChild([r] {
      MustInstall(r);
      syscall(SYS_getppid);  // in no profile
      _exit(0);
    });
    EXPECT_EQ(ExitCode(c), 125) << RoleName(r);
    EXPECT_EQ(c.report, "S" + std::to_string(static_cast<int>(r)) + " " + std::to_string(SYS_getppid))
        << RoleName(r);
  }
  EXPECT_EQ(SyscallName(SYS_getppid), "getppid (110)");
}

TEST(Seccomp, NoProfileOpensFilesExceptNetsReadOnly) {
  for (Role r : kRoles) {
    Child c = InChild([r] {
      MustInstall(r);
      const int fd = open("/dev/null", O_WRONLY);
      _exit(fd >= 0 ? 0 : 1);
    });
    EXPECT_EQ(ExitCode(c), 125) << RoleName(r) << " may open files for writing";
  }
  Child ro = InChild([] {
    MustInstall(Role::kNet);
    _exit(open("/dev/null", O_RDONLY) >= 0 ? 0 : 1);  // /etc/resolv.conf for libslirp
  });
  EXPECT_EQ(ExitCode(ro), 0);
}

TEST(Seccomp, NoProfileMapsExecutableMemory) {
  for (Role r : kRoles) {
    Child c = InChild([r] {
      MustInstall(r);
      void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) _exit(1);  // allowed without PROT_EXEC
      mprotect(p, 4096, PROT_READ | PROT_EXEC);
      _exit(0);
    });
    EXPECT_EQ(ExitCode(c), 125) << RoleName(r);
  }
}

TEST(Seccomp, BlockProfileDoesDiskWorkButNeverGrowsTheImage) {
  char path[] = "/tmp/arrow-seccomp-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
  const int ev = eventfd(0, EFD_NONBLOCK);
  Child ok = InChild([fd, ev] {
    MustInstall(Role::kBlock);
    char b[512] = {1};
    uint64_t one = 1;
    pollfd p{ev, POLLIN, 0};
    if (write(ev, &one, 8) != 8 || poll(&p, 1, 0) != 1 || read(ev, &one, 8) != 8) _exit(2);
    if (pwrite(fd, b, sizeof b, 4096) != 512 || pread(fd, b, sizeof b, 0) != 512) _exit(3);
    if (fdatasync(fd) != 0) _exit(4);
    (void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
    _exit(0);
  });
  EXPECT_EQ(ExitCode(ok), 0) << ok.report;
  Child grow = InChild([fd] {
    MustInstall(Role::kBlock);
    (void)fallocate(fd, 0, 0, 2 << 20);  // would extend the file
    _exit(0);
  });
  EXPECT_EQ(ExitCode(grow), 125);
  EXPECT_EQ(grow.report, "S2 " + std::to_string(SYS_fallocate));
  close(fd);
  close(ev);
  unlink(path);
}

TEST(Seccomp, NetProfileOpensInternetSocketsOnly) {
  Child inet = InChild([] {
    MustInstall(Role::kNet);
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || fcntl(s, F_SETFL, O_NONBLOCK) != 0) _exit(1);
    close(s);
    _exit(0);
  });
  EXPECT_EQ(ExitCode(inet), 0) << inet.report;
  Child unix_sock = InChild([] {
    MustInstall(Role::kNet);
    (void)socket(AF_UNIX, SOCK_STREAM, 0);
    _exit(0);
  });
  EXPECT_EQ(ExitCode(unix_sock), 125);
}

TEST(Seccomp, VcpuProfileHasNoFileOrSocketCalls) {
  // Allowed: write (console, eventfds); not: read, close, socket.
  for (long nr : {SYS_read, SYS_close, SYS_socket}) {
    Child c = InChild([nr] {
      MustInstall(Role::kVcpu);
      syscall(nr, -1, 0, 0);
      _exit(0);
    });
    EXPECT_EQ(ExitCode(c), 125) << nr;
  }
}

TEST(Seccomp, ProfilesListWhatTheyAllow) {
  auto has = [](Role r, const std::string& name) {
    for (const auto& a : Profile(r))
      if (a.name == name) return true;
    return false;
  };
  EXPECT_TRUE(has(Role::kVcpu, "ioctl"));
  EXPECT_FALSE(has(Role::kVcpu, "read"));
  EXPECT_TRUE(has(Role::kBlock, "pwritev"));
  EXPECT_FALSE(has(Role::kBlock, "socket"));
  EXPECT_TRUE(has(Role::kNet, "socket"));
  EXPECT_TRUE(has(Role::kConsole, "read"));
  EXPECT_FALSE(has(Role::kConsole, "pwritev"));
}

TEST(Confine, ClosesLimitsEmptiesTheRootAndDropsRoot) {
  const int keep = open("/dev/null", O_RDONLY);
  const int drop = open("/dev/null", O_RDONLY);
  ASSERT_GE(keep, 0);
  const bool root = geteuid() == 0;
  Child c = InChild([keep, drop, root] {
    JailOptions o;
    o.uid = 4242;
    o.gid = 4343;
    auto done = Confine(o, {drop});
    if (!done) {
      fprintf(stderr, "Confine: %s\n", done.message().c_str());
      _exit(10);
    }
    if (fcntl(drop, F_GETFD) != -1 || fcntl(keep, F_GETFD) == -1) _exit(11);
    rlimit core{}, nofile{};
    getrlimit(RLIMIT_CORE, &core);
    getrlimit(RLIMIT_NOFILE, &nofile);
    if (core.rlim_cur != 0 || core.rlim_max != 0 || nofile.rlim_max > 4096) _exit(12);
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
      _exit(13);
    if (!done->empty_root) _exit(geteuid() == 0 ? 14 : 0);  // non-root without user namespaces
    if (open("/etc/passwd", O_RDONLY) >= 0 || access("/dev/kvm", F_OK) == 0) _exit(15);
    DIR* d = opendir("/");
    if (!d) _exit(16);
    int entries = 0;
    while (dirent* e = readdir(d)) entries += e->d_name[0] != '.';
    if (entries != 0) _exit(17);
    if (mkdir("/x", 0700) == 0) _exit(18);  // read-only
    if (root && (getuid() != 4242 || geteuid() != 4242 || getgid() != 4343 ||
                 getgroups(0, nullptr) != 0 || done->uid != 4242))
      _exit(20);
    _exit(0);
  });
  EXPECT_EQ(ExitCode(c), 0);
  close(keep);
  close(drop);
}

TEST(Confine, DefaultsToNobody) {
  JailOptions o;
  const Ids ids = DropTarget(o);
  EXPECT_NE(ids.uid, 0u);
  EXPECT_NE(ids.gid, 0u);
  o.uid = 7;
  EXPECT_EQ(DropTarget(o).uid, 7u);
}

}  // namespace
}  // namespace arrow::runner::jail
