// A recipe's [verify] checks run against a built arrow: `arrow-build --verify` and
// `arrow verify FILE.arrow`. The arrow is booted by this same program as a child process
// (`arrow run`), so the checks see exactly what a user's run does. With http/tcp checks it runs
// detached (a private instance state directory), its checked ports published on free
// 127.0.0.1 ports, and is checked once ready, then stopped; otherwise it runs to completion with
// [verify] args and its exit status and console are checked. Each check prints one line.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace arrow::cli {

// 0: every check passed; 1: a check failed (named on stderr); 125: it could not be checked.
int VerifyArrow(const std::filesystem::path& arrow, const std::string& vmm);

// What the checks (and traced runs, trace_cmd.cc) are made of.
// Runs this program with `args` (stdin /dev/null, stdout+stderr to `out`); its exit status.
int RunSelf(const std::vector<std::string>& args, const std::filesystem::path& out);
// GET `path` on 127.0.0.1:`port`: status and body, status 0 without an HTTP answer.
std::pair<int, std::string> HttpGet(int port, const std::string& path);
// `--env K=V` flags for `arrow run`, one pair per entry.
std::vector<std::string> EnvFlags(const std::map<std::string, std::string>& env);
// The last ~1500 bytes of a log file to stderr.
void PrintTail(const std::filesystem::path& f);

}  // namespace arrow::cli
