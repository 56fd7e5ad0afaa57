// `arrow build` / `arrow-build`: recipe -> .arrow, with a summary of what was packed.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "builder/build.h"
#include "builder/recipe.h"
#include "cli/commands.h"

namespace arrow::cli {
namespace fs = std::filesystem;

void AddBuild(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string recipe, output, sysroot = "/", kernel;
    int level = 19, threads = 0;
    bool quiet = false, list = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("build", "Build an .arrow image from a recipe");
  cmd->add_option("recipe", f->recipe, "The recipe (TOML)")->required();
  cmd->add_option("-o,--output", f->output, "Output file (default: <name>.arrow)");
  cmd->add_option("--sysroot", f->sysroot, "Build root to take the app and its libraries from");
  cmd->add_option("--kernel", f->kernel, "Kernel bzImage (overrides [kernel] image)");
  cmd->add_option("--zstd-level", f->level, "zstd level of the initramfs (1-19)")->check(CLI::Range(1, 19));
  cmd->add_option("--threads", f->threads, "zstd worker threads (0 = all cores)")->check(CLI::Range(0, 256));
  cmd->add_flag("-q,--quiet", f->quiet, "Print only errors");
  cmd->add_flag("--list", f->list, "Print every packed file with its size and reason");
  cmd->callback([cmd, f, selected] {
    (void)cmd;
    *selected = [f]() -> int {
      auto recipe = builder::LoadRecipe(f->recipe);
      if (!recipe) {
        std::cerr << "arrow-build: " << recipe.message() << "\n";
        return 1;
      }
      builder::BuildOptions o;
      o.output = f->output.empty() ? fs::path(recipe->name + ".arrow") : fs::path(f->output);
      o.sysroot = f->sysroot;
      o.kernel_override = f->kernel;
      o.init_binary = FindInitBinary();
      o.zstd_level = f->level;
      o.threads = f->threads;
      if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde)
        o.mtime = std::strtoll(sde, nullptr, 10);
      auto report = builder::BuildArrow(*recipe, o);
      if (!report) {
        std::cerr << "arrow-build: " << report.message() << "\n";
        return 1;
      }
      for (const auto& w : report->warnings) std::cerr << "arrow-build: warning: " << w << "\n";
      if (f->quiet) return 0;
      if (f->list)
        for (const auto& pf : report->files)
          std::printf("%10s  %-60s %s\n", pf.type == "file" ? HumanSize(pf.size).c_str() : pf.type.c_str(),
                      pf.path.c_str(), pf.reason.c_str());
      size_t nfiles = 0;
      for (const auto& pf : report->files) nfiles += pf.type == "file";
      std::printf("%s: %zu entries (%zu files, %s), initramfs %s compressed (ratio %.2f), kernel %s %s\n",
                  o.output.c_str(), report->files.size(), nfiles, HumanSize(report->file_bytes).c_str(),
                  HumanSize(report->initramfs_bytes).c_str(),
                  report->initramfs_bytes ? double(report->cpio_bytes) / report->initramfs_bytes : 0.0,
                  report->kernel_version.c_str(), HumanSize(report->kernel_bytes).c_str());
      std::printf("wrote %s (%s), manifest %s\n", o.output.c_str(),
                  HumanSize(report->arrow_bytes).c_str(), report->manifest_digest.c_str());
      return 0;
    };
  });
}

}  // namespace arrow::cli
