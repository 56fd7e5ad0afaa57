// arrow: one binary, several verbs. Reached as `arrow-build` it is `arrow build`; as
// `arrow-run`, `arrow run` (both names are fixed: docs/architecture.md, "Repository layout").
// Only flag parsing lives in cli/; the work is done by the component libraries and errors become
// exit codes here.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string name = std::filesystem::path(argv[0]).filename().string();
  if (name == "arrow-build") args.insert(args.begin(), "build");
  if (name == "arrow-run") args.insert(args.begin(), "run");

  CLI::App app{"Arrow: one Linux application as a tiny bootable VM image"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("arrow ") + ARROW_VERSION);
  arrow::cli::Commands commands(app);
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector of arguments
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return commands.Run();
}
