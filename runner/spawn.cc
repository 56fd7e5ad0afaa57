// fork + exec with an exec-failure pipe; see spawn.h.
#include "runner/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arrow::runner {

Result<pid_t> SpawnChild(const std::vector<std::string>& args, int inherit_fd) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Err("pipe: ", std::strerror(errno));
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return Err("fork: ", std::strerror(e));
  }
  if (pid == 0) {
    close(fds[0]);
    // The helper dies with arrow-run (a killed arrow-run must not leave a VM or passt behind).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // it died before the line above
    if (inherit_fd >= 0) fcntl(inherit_fd, F_SETFD, 0);
    execvp(argv[0], argv.data());
    int err = errno;
    (void)!write(fds[1], &err, sizeof err);
    _exit(127);
  }
  close(fds[1]);
  int exec_errno = 0;
  ssize_t got = read(fds[0], &exec_errno, sizeof exec_errno);
  close(fds[0]);
  if (got == sizeof exec_errno) {
    waitpid(pid, nullptr, 0);
    return Err(std::strerror(exec_errno));
  }
  return pid;
}

}  // namespace arrow::runner
