// Starting a helper program (qemu, passt) in the background: fork + exec with PATH search,
// one descriptor left open for it, and an exec failure told apart from the program's own exit
// by a close-on-exec pipe — so "not installed" is an error here, not a mysterious exit later.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::runner {

// Returns the child's pid once argv[0] has been exec'd. The child is killed (PR_SET_PDEATHSIG)
// if the thread that spawned it ends, so a killed arrow-run leaves no helper running. `inherit_fd` (>= 0) loses its
// close-on-exec flag in the child. Errors: the reason alone ("No such file or directory"),
// or "fork: ..." / "pipe: ...", for the caller to put in context.
Result<pid_t> SpawnChild(const std::vector<std::string>& argv, int inherit_fd = -1);

}  // namespace arrow::runner
