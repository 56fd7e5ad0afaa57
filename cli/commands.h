// The verbs of the arrow CLI. Each registers its flags on construction and runs on demand.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace arrow::cli {

class Commands {
 public:
  explicit Commands(CLI::App& app);
  int Run();  // runs the selected verb, returns the process exit code

 private:
  std::function<int()> selected_;
};

// Verb set-up functions, one file each; they store the runner in `selected`.
void AddBuild(CLI::App& app, std::function<int()>* selected);
void AddInspect(CLI::App& app, std::function<int()>* selected);
void AddRun(CLI::App& app, std::function<int()>* selected);
void AddKernel(CLI::App& app, std::function<int()>* selected);
void AddPush(CLI::App& app, std::function<int()>* selected);
void AddPull(CLI::App& app, std::function<int()>* selected);
void AddVolume(CLI::App& app, std::function<int()>* selected);
void AddCatalog(CLI::App& app, std::function<int()>* selected);
void AddVerify(CLI::App& app, std::function<int()>* selected);
void AddTrace(CLI::App& app, std::function<int()>* selected);
void AddInstances(CLI::App& app, std::function<int()>* selected);  // ps, logs, stop, rm

// Where arrow-init lives: $ARROW_INIT, else next to this binary (or ../init/out in a build tree,
// ../lib/arrow when installed).
std::string FindInitBinary();

std::string HumanSize(uint64_t bytes);

}  // namespace arrow::cli
