// `arrow run -d` (RunDetached) and the verbs on instances: `arrow ps`, `logs`, `stop`, `rm`
// (cli/instances.h keeps their state).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <functional>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/console_log.h"
#include "cli/instances.h"
#include "common/file_util.h"
#include "runner/qemu.h"

namespace arrow::cli {
namespace {

using Clock = std::chrono::steady_clock;

void PrintTail(const Instance& in, int lines) {
  auto text = ReadFile(in.log());
  if (!text) return;
  if (text->size() < 65536)
    if (auto prev = ReadFile(ConsoleLog::Previous(in.log()))) *text = *prev + *text;
  std::vector<std::string> all;
  size_t start = 0;
  for (size_t i = 0; i <= text->size(); i++)
    if (i == text->size() || (*text)[i] == '\n') {
      if (i > start) all.push_back(text->substr(start, i - start));
      start = i + 1;
    }
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); i++)
    std::cerr << "  | " << all[i] << "\n";
}

// Waits up to `limit` for the instance's process to end.
bool WaitGone(const Instance& in, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (in.alive()) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// SIGTERM: arrow-run asks the app to stop; after `grace` a second SIGTERM stops the VM at once;
// a VMM that still does not end is killed.
void StopProcess(const Instance& in, std::chrono::milliseconds grace) {
  if (!in.alive()) return;
  kill(in.pid, SIGTERM);
  if (WaitGone(in, grace)) return;
  kill(in.pid, SIGTERM);
  if (WaitGone(in, std::chrono::seconds(5))) return;
  kill(in.pid, SIGKILL);
  WaitGone(in, std::chrono::seconds(5));
}

// `arrow VERB KEY...`: `act` on each instance found, its name printed when it succeeds; an
// unknown key is reported and the rest still done. 1 when anything failed.
int EachInstance(const std::vector<std::string>& keys, const char* verb,
                 const std::function<bool(const Instance&)>& act) {
  int rc = 0;
  for (const auto& key : keys) {
    auto in = FindInstance(key);
    if (!in) {
      std::cerr << "arrow " << verb << ": " << in.message() << "\n";
      rc = 1;
    } else if (act(*in)) {
      std::cout << in->name << "\n";
    } else {
      rc = 1;
    }
  }
  return rc;
}

std::string Ago(int64_t t) {
  const int64_t d = UnixNow() - t;
  if (d < 60) return std::to_string(d) + "s";
  if (d < 3600) return std::to_string(d / 60) + "m";
  if (d < 86400) return std::to_string(d / 3600) + "h";
  return std::to_string(d / 86400) + "d";
}

}  // namespace

int RunDetached(const DetachSpec& spec, const std::function<int(std::function<void()>)>& run) {
  auto created = CreateInstance(spec.image, spec.name);
  if (!created) {
    std::cerr << "arrow-run: " << created.message() << "\n";
    return runner::kExitRunnerError;
  }
  Instance in = *created;
  in.ports = spec.ports;
  in.volumes = spec.volumes;
  int up[2];
  if (pipe2(up, O_CLOEXEC) != 0) {
    std::cerr << "arrow-run: pipe: " << std::strerror(errno) << "\n";
    return runner::kExitRunnerError;
  }
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) {
    std::cerr << "arrow-run: fork: " << std::strerror(errno) << "\n";
    return runner::kExitRunnerError;
  }
  if (pid == 0) {  // the instance: its own session, its console in the log
    close(up[0]);
    setsid();
    const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0) _exit(runner::kExitRunnerError);
    dup2(null, STDIN_FILENO);
    close(null);
    ConsoleLog log;
    if (!log.Start(in.log(), spec.log_max_bytes)) _exit(runner::kExitRunnerError);
    in.pid = getpid();
    in.pid_start = ProcessStart(in.pid);
    (void)SaveInstance(in);
    const int code = run([&in, fd = up[1]] {
      in.state = "running";
      (void)SaveInstance(in);
      (void)!write(fd, "u", 1);
    });
    std::cout.flush();
    log.Finish();
    in.state = "exited";
    in.exit_code = code;
    in.finished = UnixNow();
    (void)SaveInstance(in);
    _exit(code);
  }
  close(up[1]);
  in.pid = pid;
  in.pid_start = ProcessStart(pid);
  pollfd p{up[0], POLLIN, 0};
  const int r = poll(&p, 1, static_cast<int>(spec.ready_timeout.count()));
  char b = 0;
  const bool is_up = r == 1 && read(up[0], &b, 1) == 1;
  close(up[0]);
  if (is_up) {
    std::cout << in.id << "\n";
    return 0;
  }
  if (r == 0) {  // the guest never came up: stop it, say why
    StopProcess(in, std::chrono::seconds(2));
    waitpid(pid, nullptr, 0);
    std::cerr << "arrow-run: instance " << in.name << " (" << in.id << ") was not ready after "
              << spec.ready_timeout.count() << " ms and was stopped; its console ends with:\n";
    PrintTail(in, 15);
    return runner::kExitRunnerError;
  }
  int st = 0;
  waitpid(pid, &st, 0);
  const int code = WIFEXITED(st) ? WEXITSTATUS(st) : runner::kExitRunnerError;
  std::cerr << "arrow-run: instance " << in.name << " (" << in.id << ") ended before its guest was up"
            << " (exit status " << code << "); its console ends with:\n";
  PrintTail(in, 15);
  return code == 0 ? runner::kExitRunnerError : code;
}

void AddInstances(CLI::App& app, std::function<int()>* selected) {
  auto ps_json = std::make_shared<bool>(false);
  CLI::App* ps = app.add_subcommand("ps", "List the instances started with arrow run -d");
  ps->add_flag("--json", *ps_json, "Machine-readable output");
  ps->callback([ps_json, selected] {
    *selected = [ps_json]() -> int {
      auto all = ListInstances();
      if (*ps_json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& in : all) {
          auto j = in.ToJson();
          j["status"] = in.Shown();
          arr.push_back(j);
        }
        std::cout << arr.dump(2) << "\n";
        return 0;
      }
      std::printf("%-12s  %-20s  %-24s  %-22s  %-17s  %s\n", "ID", "NAME", "IMAGE", "PORTS", "STATUS", "CREATED");
      for (const auto& in : all) {
        std::string ports;
        for (const auto& p : in.ports) ports += (ports.empty() ? "" : ",") + p;
        std::printf("%-12s  %-20s  %-24s  %-22s  %-17s  %s ago\n", in.id.c_str(), in.name.c_str(),
                    in.image.c_str(), ports.empty() ? "-" : ports.c_str(), in.Shown().c_str(),
                    Ago(in.created).c_str());
      }
      return 0;
    };
  });

  struct LogFlags {
    std::string key;
    bool follow = false;
  };
  auto lf = std::make_shared<LogFlags>();
  CLI::App* logs = app.add_subcommand("logs", "Print an instance's console");
  logs->add_option("instance", lf->key, "Name or id")->required();
  logs->add_flag("-f,--follow", lf->follow, "Keep printing until the instance ends");
  logs->callback([lf, selected] {
    *selected = [lf]() -> int {
      auto in = FindInstance(lf->key);
      if (!in) {
        std::cerr << "arrow logs: " << in.message() << "\n";
        return 1;
      }
      // The rotated-out part first (console_log.h), then the current file; -f follows the
      // current one across rotations.
      char buf[65536];
      auto copy = [&buf](int fd) {
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) (void)!write(STDOUT_FILENO, buf, static_cast<size_t>(n));
      };
      if (const int prev = open(ConsoleLog::Previous(in->log()).c_str(), O_RDONLY | O_CLOEXEC); prev >= 0) {
        copy(prev);
        close(prev);
      }
      int fd = open(in->log().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        std::cerr << "arrow logs: " << in->log().string() << ": " << std::strerror(errno) << "\n";
        return 1;
      }
      for (;;) {
        copy(fd);
        if (!lf->follow) break;
        const bool alive = in->alive();
        struct stat now {}, open_st {};
        if (stat(in->log().c_str(), &now) == 0 && fstat(fd, &open_st) == 0 && now.st_ino != open_st.st_ino) {
          copy(fd);  // the rest of the rotated-out file, then the new one
          close(fd);
          fd = open(in->log().c_str(), O_RDONLY | O_CLOEXEC);
          if (fd < 0) return 0;
          continue;
        }
        if (!alive) {  // a last read: what it wrote before it ended
          copy(fd);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      close(fd);
      return 0;
    };
  });

  struct StopFlags {
    std::vector<std::string> keys;
    int time = 10;
  };
  auto sf = std::make_shared<StopFlags>();
  CLI::App* stop = app.add_subcommand("stop", "Stop instances: SIGTERM to the app, the VM stopped after --time");
  stop->add_option("instance", sf->keys, "Names or ids")->required();
  stop->add_option("-t,--time", sf->time, "Seconds the app gets to exit (default 10)")->check(CLI::Range(0, 3600));
  stop->callback([sf, selected] {
    *selected = [sf]() -> int {
      return EachInstance(sf->keys, "stop", [&](const Instance& in) {
        StopProcess(in, std::chrono::seconds(sf->time));
        if (!in.alive()) return true;
        std::cerr << "arrow stop: " << in.name << ": pid " << in.pid << " did not end\n";
        return false;
      });
    };
  });

  struct RmFlags {
    std::vector<std::string> keys;
    bool force = false;
  };
  auto rf = std::make_shared<RmFlags>();
  CLI::App* rm = app.add_subcommand("rm", "Remove stopped instances and their logs");
  rm->add_option("instance", rf->keys, "Names or ids")->required();
  rm->add_flag("-f,--force", rf->force, "Stop a running instance first (no grace period)");
  rm->callback([rf, selected] {
    *selected = [rf]() -> int {
      return EachInstance(rf->keys, "rm", [&](const Instance& in) {
        if (in.alive()) {
          if (!rf->force) {
            std::cerr << "arrow rm: " << in.name << " is running: arrow stop " << in.name << " first, or arrow rm -f\n";
            return false;
          }
          StopProcess(in, std::chrono::milliseconds(0));
        }
        std::error_code ec;
        std::filesystem::remove_all(in.dir, ec);
        if (!ec) return true;
        std::cerr << "arrow rm: " << in.dir.string() << ": " << ec.message() << "\n";
        return false;
      });
    };
  });
}

}  // namespace arrow::cli
