// Runs an external tool (make, tar, gcc, xz, zstd) and streams its merged stdout+stderr by line.
//
// The kernel build drives the kernel's own make, tar and compressors rather than reimplementing
// them; this is the one place that forks. Errors name the command and its exit status.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace arrow::builder {

struct CommandOptions {
  std::filesystem::path cwd;                           // empty: inherit
  std::vector<std::string> env;                        // extra "NAME=value" entries
  std::function<void(std::string_view line)> on_line;  // each output line, without '\n'
  std::filesystem::path stdout_file;                   // if set, stdout goes here (not on_line)
};

// Runs argv[0] (searched in PATH) and returns its exit status. Fails only when the command
// cannot be started or dies from a signal.
Result<int> RunCommand(const std::vector<std::string>& argv, const CommandOptions& options = {});

// Runs argv and returns its stdout; a non-zero exit is an error carrying the output's tail.
Result<std::string> CaptureCommand(const std::vector<std::string>& argv);

// "make -C ... bzImage" style rendering for messages.
std::string CommandString(const std::vector<std::string>& argv);

}  // namespace arrow::builder
