#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace arrow::cli {
namespace fs = std::filesystem;

Commands::Commands(CLI::App& app) {
  AddBuild(app, &selected_);
  AddInspect(app, &selected_);
  AddRun(app, &selected_);
  AddKernel(app, &selected_);
  AddPush(app, &selected_);
  AddPull(app, &selected_);
  AddVolume(app, &selected_);
  AddInstances(app, &selected_);
  AddCatalog(app, &selected_);
  AddVerify(app, &selected_);
  AddTrace(app, &selected_);
}

int Commands::Run() { return selected_ ? selected_() : 2; }

std::string FindInitBinary() {
  if (const char* env = std::getenv("ARROW_INIT"); env && *env) return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  fs::path dir = self.parent_path();
  for (const fs::path& p : {dir / "arrow-init", dir / "../init/out/arrow-init", dir / "../lib/arrow/arrow-init"})
    if (fs::is_regular_file(p, ec)) return fs::weakly_canonical(p, ec).string();
  return (dir / "arrow-init").string();
}

std::string HumanSize(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

}  // namespace arrow::cli
