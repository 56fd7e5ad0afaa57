// Helpers shared by the packer tests: write a host file, run a shell command and capture it.
#pragma once

#include <filesystem>
#include <string>

namespace arrow::packer::testing {

void WriteHostFile(const std::filesystem::path& path, const std::string& data);
std::string ReadHostFile(const std::filesystem::path& path);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
CommandResult RunCommand(const std::string& command);
// Single-quotes a string for /bin/sh.
std::string ShellQuote(const std::string& s);

}  // namespace arrow::packer::testing
