// fork/exec with a pipe (see command.h). Everything the child needs is prepared before fork(),
// so the child only calls async-signal-safe functions.
#include "builder/command.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace arrow::builder {

std::string CommandString(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

Result<int> RunCommand(const std::vector<std::string>& argv, const CommandOptions& options) {
  if (argv.empty()) return Err("RunCommand: empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  for (const auto& e : options.env) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string cwd = options.cwd.string();

  int out_fd = -1;
  if (!options.stdout_file.empty()) {
    out_fd = ::open(options.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0)
      return Err(options.stdout_file.string(), ": cannot create: ", std::strerror(errno));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    if (out_fd >= 0) ::close(out_fd);
    return Err("pipe: ", std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    if (out_fd >= 0) ::close(out_fd);
    return Err("fork: ", std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(out_fd >= 0 ? out_fd : fds[1], 1);
    ::dup2(fds[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(126);
    ::execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  ::close(fds[1]);
  if (out_fd >= 0) ::close(out_fd);
  std::string pending;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0, nl;
    while ((nl = pending.find('\n', start)) != std::string::npos) {
      if (options.on_line) options.on_line(std::string_view(pending).substr(start, nl - start));
      start = nl + 1;
    }
    pending.erase(0, start);
  }
  if (!pending.empty() && options.on_line) options.on_line(pending);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Err("waitpid: ", std::strerror(errno));
  }
  if (WIFSIGNALED(status))
    return Err(CommandString(argv), ": killed by signal ", std::to_string(WTERMSIG(status)));
  int code = WEXITSTATUS(status);
  if (code == 127) return Err(CommandString(argv), ": cannot run '", argv[0], "' (not installed?)");
  return code;
}

Result<std::string> CaptureCommand(const std::vector<std::string>& argv) {
  std::string out;
  CommandOptions o;
  o.on_line = [&](std::string_view l) { out.append(l).push_back('\n'); };
  auto rc = RunCommand(argv, o);
  if (!rc.ok()) return rc.error();
  if (*rc != 0) {
    if (out.size() > 2000) out = "..." + out.substr(out.size() - 2000);
    return Err(CommandString(argv), " failed with exit status ", std::to_string(*rc), ":\n", out);
  }
  return out;
}

}  // namespace arrow::builder
