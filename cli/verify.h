// A recipe's [verify] checks run against a built arrow: `arrow-build --verify` and
// `arrow verify FILE.arrow`. The arrow is booted by this same program as a child process
// (`arrow run`), so the checks see exactly what a user's run does. With http/tcp checks it runs
// detached (a private instance state directory), its checked ports published on free
// 127.0.0.1 ports, and is checked once ready, then stopped; otherwise it runs to completion with
// [verify] args and its exit status and console are checked. Each check prints one line.
#pragma once

#include <filesystem>
#include <string>

namespace arrow::cli {

// 0: every check passed; 1: a check failed (named on stderr); 125: it could not be checked.
int VerifyArrow(const std::filesystem::path& arrow, const std::string& vmm);

}  // namespace arrow::cli
