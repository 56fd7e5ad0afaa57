// `arrow build` / `arrow-build`: recipe -> .arrow, with a summary of what was packed.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "builder/build.h"
#include "builder/recipe.h"
#include "cli/commands.h"
#include "cli/kernel_registry.h"
#include "cli/trace_cmd.h"
#include "cli/verify.h"
#include "common/file_util.h"
#include "registry/registry.h"

namespace arrow::cli {
namespace fs = std::filesystem;

namespace {

void PrintSummary(const builder::BuildOptions& o, const builder::BuildReport& r, bool list) {
  if (list)
    for (const auto& pf : r.files)
      std::printf("%10s  %-60s %s\n", pf.type == "file" ? HumanSize(pf.size).c_str() : pf.type.c_str(),
                  pf.path.c_str(), pf.reason.c_str());
  const size_t nfiles = builder::RegularFileCount(r.files);
  std::printf("%s: %zu entries (%zu files, %s), initramfs %s compressed (ratio %.2f)\n",
              o.output.c_str(), r.files.size(), nfiles, HumanSize(r.file_bytes).c_str(),
              HumanSize(r.initramfs_bytes).c_str(),
              r.initramfs_bytes ? double(r.cpio_bytes) / double(r.initramfs_bytes) : 0.0);
  if (r.rootfs_bytes) std::printf("root: EROFS layer %s\n", HumanSize(r.rootfs_bytes).c_str());
  std::printf("kernel %s (%s), %s %s\n", r.kernel_version.c_str(), r.kernel_origin.c_str(),
              r.kernel_format == "vmlinux" ? "vmlinux.zst" : "bzImage", HumanSize(r.kernel_bytes).c_str());
  for (const auto& [feature, why] : r.kernel_added)
    std::printf("  +%s: %s\n", feature.c_str(), why.c_str());
  std::printf("wrote %s (%s), manifest %s\n", o.output.c_str(), HumanSize(r.arrow_bytes).c_str(),
              r.manifest_digest.c_str());
}

}  // namespace

void AddBuild(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string recipe, output, sysroot = "/", kernel, kernel_source, push, kernel_format;
    int level = 19, threads = 0, jobs = 0;
    bool quiet = false, list = false, plain_http = false, verify = false, trace = false;
    std::string vmm = "auto", kernel_registry;
    bool kernel_push = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("build", "Build an .arrow image from a recipe");
  cmd->add_option("recipe", f->recipe, "The recipe (TOML)")->required();
  cmd->add_option("-o,--output", f->output, "Output file (default: <name>.arrow)");
  cmd->add_option("--sysroot", f->sysroot, "Build root to take the app and its libraries from");
  cmd->add_option("--kernel", f->kernel, "Prebuilt kernel bzImage (overrides [kernel])");
  cmd->add_flag("--verify", f->verify,
                "After building, boot the arrow and run the recipe's [verify] checks; a failure fails the build");
  cmd->add_flag("--trace", f->trace,
                "Run the app in a VM first ([trace] runs and probes) and pack only what it touches "
                "from the [files] include trees, plus the static closure and [trace] keep");
  cmd->add_option("--vmm", f->vmm, "builtin, qemu or auto: for the traced runs and --verify");
  cmd->add_option("--kernel-format", f->kernel_format,
                  "How the tuned kernel is stored: vmlinux (uncompressed at boot; the default) or "
                  "bzimage (self-decompressing, the old layout); overrides [kernel] format")
      ->check(CLI::IsMember({"vmlinux", "bzimage"}));
  cmd->add_option("--kernel-source", f->kernel_source,
                  "Linux source dir or tarball for a tuned kernel (default: Debian's linux-source-6.1)");
  cmd->add_option("-j,--jobs", f->jobs, "make -j for a tuned kernel build (default: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--kernel-registry", f->kernel_registry,
                  "Look the tuned kernel up in this repository before compiling it (default $ARROW_KERNEL_REGISTRY)");
  cmd->add_flag("--kernel-push", f->kernel_push,
                "With a kernel registry: publish a kernel this build had to compile");
  cmd->add_option("--push", f->push, "Push the arrow to this registry reference after building");
  cmd->add_flag("--plain-http", f->plain_http, "With --push or a kernel registry: HTTP instead of HTTPS");
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
      o.kernel_source = f->kernel_source;
      o.kernel_format = f->kernel_format;
      o.kernel_jobs = f->jobs;
      if (!f->quiet) o.progress = [](std::string_view l) { std::cerr << l << "\n"; };
      std::optional<registry::Reference> push_ref;
      if (!f->push.empty()) {  // a bad reference fails before minutes of building
        auto ref = registry::ParseReference(f->push);
        if (!ref) {
          std::cerr << "arrow-build: --push: " << ref.message() << "\n";
          return 2;
        }
        push_ref = *ref;
      }
      o.init_binary = FindInitBinary();
      {
        registry::ClientOptions kco;
        kco.plain_http = f->plain_http;
        kco.progress = !f->quiet;
        UseKernelRegistry(KernelRegistry(f->kernel_registry), f->kernel_push, kco, &o.kernel_fetch,
                          &o.kernel_compiled);
      }
      o.zstd_level = f->level;
      o.threads = f->threads;
      if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde)
        o.mtime = std::strtoll(sde, nullptr, 10);
      std::optional<TraceOutcome> traced;
      std::optional<TempDir> trace_dir;
      if (f->trace) {
        auto dir = TempDir::Create("arrow-trace");
        if (!dir) {
          std::cerr << "arrow-build: " << dir.message() << "\n";
          return 1;
        }
        trace_dir.emplace(std::move(*dir));
        auto t = TraceRecipe(*recipe, o, f->vmm, trace_dir->path(), f->quiet);
        if (!t) {
          std::cerr << "arrow-build: --trace: " << t.message() << "\n";
          return 1;
        }
        for (const auto& w : t->warnings) std::cerr << "arrow-build: warning: " << w << "\n";
        traced = std::move(*t);
        o.trace = &traced->log;
      }
      auto report = builder::BuildArrow(*recipe, o);
      if (!report) {
        std::cerr << "arrow-build: " << report.message() << "\n";
        return 1;
      }
      for (const auto& w : report->warnings) std::cerr << "arrow-build: warning: " << w << "\n";
      if (!f->quiet) PrintSummary(o, *report, f->list);
      if (!f->quiet && traced) std::printf("%s\n", TraceSummary(*traced, *report).c_str());
      if (f->verify) {  // a failed check fails the build: the arrow is not left behind
        const int v = VerifyArrow(o.output, f->vmm);
        if (v != 0) {
          std::error_code ec;
          fs::remove(o.output, ec);
          std::cerr << "arrow-build: --verify failed; " << o.output.string() << " was removed\n";
          return 1;
        }
      }
      if (!push_ref) return 0;
      registry::ClientOptions co;
      co.plain_http = f->plain_http;
      co.progress = !f->quiet;
      co.mtime = o.mtime;
      auto pushed = registry::Push(o.output, *push_ref, co);
      if (!pushed) {
        std::cerr << "arrow-build: push: " << pushed.message() << "\n";
        return 1;
      }
      if (!f->quiet)
        std::printf("pushed %s (%s), %d blob(s) uploaded, %d already there\n",
                    pushed->reference.c_str(), pushed->manifest_digest.c_str(),
                    pushed->blobs_uploaded, pushed->blobs_skipped);
      return 0;
    };
  });
}

}  // namespace arrow::cli
