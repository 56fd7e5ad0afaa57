// Detached instances (`arrow run -d`) and their state, for `arrow ps`, `logs`, `stop`, `rm`.
//
// One directory per instance under the state root — $ARROW_STATE_DIR, else $XDG_RUNTIME_DIR/arrow,
// else /run/arrow as root, else /tmp/arrow-<uid> — holding `state.json` (id, name, image,
// ports, volumes, pid and its start time, created/finished times, state, exit status) and
// `console.log` (the instance's console and arrow-run's own lines). The detached arrow-run
// writes the state; `ps` also checks the pid (and its start time, against pid reuse), so an
// instance whose VMM died shows as "exited (crashed)". Names are unique; creating an instance
// holds a lock on the root so two `run -d --name x` cannot both win.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace arrow::cli {

struct Instance {
  std::string id, name, image;
  std::vector<std::string> ports, volumes;
  pid_t pid = 0;
  uint64_t pid_start = 0;  // /proc/<pid>/stat field 22, against pid reuse
  int64_t created = 0, finished = 0;  // unix seconds
  std::string state;                  // "starting", "running", "exited"
  std::optional<int> exit_code;
  std::filesystem::path dir;

  std::filesystem::path log() const { return dir / "console.log"; }
  bool alive() const;          // the recorded process still exists (same start time)
  std::string Shown() const;   // "running", "exited (0)", "exited (crashed)"
  nlohmann::json ToJson() const;
};

std::filesystem::path StateRoot();

// Creates the instance's directory and state; fails on a name in use. `name` empty: one is
// made from the image's name and the id.
Result<Instance> CreateInstance(const std::string& image, std::string name);
// Writes `state.json` atomically.
Status SaveInstance(const Instance& in);
std::vector<Instance> ListInstances();
// By exact name, full id, or unique id prefix (at least 4 characters).
Result<Instance> FindInstance(const std::string& key);

// `arrow run -d`: creates the instance, forks; the child (new session, stdin /dev/null,
// stdout+stderr to console.log) calls `run` with a callback that marks the instance running, and
// records the exit status. The parent prints the id once the guest is up; if the child ends
// first or the guest is not up within `ready_timeout`, it prints the log's tail and fails.
struct DetachSpec {
  std::string image, name;
  std::vector<std::string> ports, volumes;
  std::chrono::milliseconds ready_timeout;
  uint64_t log_max_bytes = 16ull << 20;  // console.log rotates to console.log.1 past this
};
int RunDetached(const DetachSpec& spec, const std::function<int(std::function<void()>)>& run);

// Seconds since the epoch (the times in state.json).
int64_t UnixNow();

// A process's start time as /proc/<pid>/stat reports it.
uint64_t ProcessStart(pid_t pid);

}  // namespace arrow::cli
