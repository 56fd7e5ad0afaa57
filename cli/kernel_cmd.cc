// `arrow kernel build|list|path|prune`: tuned kernels ahead of time (CI caches), a look at the
// cache, and freeing its disk space.
#include <cstdio>
#include <iostream>

#include "builder/kernel_build.h"
#include "cli/commands.h"
#include "cli/kernel_registry.h"

namespace arrow::cli {

namespace {

struct KernelFlags {
  std::string config = "microvm", source;
  std::vector<std::string> features;
  int jobs = 0;
};

void AddSpecFlags(CLI::App* cmd, KernelFlags* f, bool with_build_flags) {
  cmd->add_option("--config", f->config, "Base config: a name in kernel-configs/ or a fragment path");
  cmd->add_option("--features", f->features,
                  "Fragments to add (net, block, db, debug, kvm-host, fast, or a path)")
      ->delimiter(',');
  cmd->add_option("--source", f->source, "Linux source dir or tarball (default: linux-source-6.1)");
  if (with_build_flags)
    cmd->add_option("-j,--jobs", f->jobs, "make -j (default: all cores)")->check(CLI::Range(0, 1024));
}

builder::KernelSpec Spec(const KernelFlags& f) {
  builder::KernelSpec s;
  s.config = f.config;
  s.features = f.features;
  s.source = f.source;
  s.jobs = f.jobs;
  return s;
}

void PrintArtifact(const builder::KernelArtifact& k) {
  std::string frags;
  for (const auto& x : k.fragments) frags += (frags.empty() ? "" : "+") + x;
  std::printf("%s  %-10s %-24s %s  %s\n", k.key.c_str(), k.version.c_str(), frags.c_str(),
              k.created.c_str(), k.bzimage.c_str());
}

}  // namespace

void AddKernel(CLI::App& app, std::function<int()>* selected) {
  CLI::App* kernel = app.add_subcommand("kernel", "Build tuned kernels and look at the kernel cache");
  kernel->require_subcommand(1);

  auto bf = std::make_shared<KernelFlags>();
  CLI::App* build = kernel->add_subcommand("build", "Build (or find in the cache) a tuned kernel");
  AddSpecFlags(build, bf.get(), true);
  build->callback([bf, selected] {
    *selected = [bf]() -> int {
      auto env = builder::KernelBuildEnv::FromEnvironment();
      env.progress = [](std::string_view l) { std::cerr << l << "\n"; };
      auto k = builder::EnsureKernel(Spec(*bf), env);
      if (!k) {
        std::cerr << "arrow kernel build: " << k.message() << "\n";
        return 1;
      }
      std::printf("%s %s (%s, %s)\n", k->hit ? "cached" : "built", k->bzimage.c_str(),
                  k->version.c_str(), k->config_digest.c_str());
      return 0;
    };
  });

  struct PushFlags {
    KernelFlags spec;
    std::string repo;
    bool plain_http = false;
  };
  auto kf = std::make_shared<PushFlags>();
  CLI::App* push = kernel->add_subcommand(
      "push", "Publish a tuned kernel (built first if the cache lacks it) to REPO, tagged with its cache key");
  push->add_option("repo", kf->repo, "Repository, e.g. registry.example.com/team/arrow-kernels (no tag)")->required();
  AddSpecFlags(push, &kf->spec, true);
  push->add_flag("--plain-http", kf->plain_http, "HTTP instead of HTTPS");
  push->callback([kf, selected] {
    *selected = [kf]() -> int {
      auto env = builder::KernelBuildEnv::FromEnvironment();
      env.progress = [](std::string_view l) { std::cerr << l << "\n"; };
      auto k = builder::EnsureKernel(Spec(kf->spec), env);
      if (!k) {
        std::cerr << "arrow kernel push: " << k.message() << "\n";
        return 1;
      }
      registry::ClientOptions co;
      co.plain_http = kf->plain_http;
      if (auto why = PublishKernel(*k, kf->repo, co); !why.empty()) {
        std::cerr << "arrow kernel push: " << why << "\n";
        return 1;
      }
      std::printf("%s:%s\n", kf->repo.c_str(), k->key.c_str());
      return 0;
    };
  });

  auto pf = std::make_shared<KernelFlags>();
  CLI::App* path = kernel->add_subcommand("path", "Print the cached bzImage for a config (never builds)");
  AddSpecFlags(path, pf.get(), false);
  path->callback([pf, selected] {
    *selected = [pf]() -> int {
      auto k = builder::FindCachedKernel(Spec(*pf), builder::KernelBuildEnv::FromEnvironment());
      if (!k) {
        std::cerr << "arrow kernel path: " << k.message() << "\n";
        return 1;
      }
      if (!k->has_value()) {
        std::cerr << "arrow kernel path: not built yet (run: arrow kernel build --config "
                  << pf->config << ")\n";
        return 1;
      }
      std::printf("%s\n", (*k)->bzimage.c_str());
      return 0;
    };
  });

  CLI::App* list = kernel->add_subcommand("list", "List the kernels in the cache");
  list->callback([selected] {
    *selected = []() -> int {
      auto env = builder::KernelBuildEnv::FromEnvironment();
      auto all = builder::ListCachedKernels(env);
      if (!all) {
        std::cerr << "arrow kernel list: " << all.message() << "\n";
        return 1;
      }
      std::printf("cache: %s\n", (env.cache_dir / "kernels").c_str());
      for (const auto& k : *all) PrintArtifact(k);
      return 0;
    };
  });

  auto all = std::make_shared<bool>(false);
  CLI::App* prune = kernel->add_subcommand(
      "prune", "Free the kernel cache's disk: unpacked sources and interrupted builds");
  prune->add_flag("--all", *all, "Also remove every built kernel and the decompressed vmlinux layers (remade on next use)");
  prune->callback([all, selected] {
    *selected = [all]() -> int {
      auto env = builder::KernelBuildEnv::FromEnvironment();
      auto r = builder::PruneKernelCache(env, *all);
      if (!r) {
        std::cerr << "arrow kernel prune: " << r.message() << "\n";
        return 1;
      }
      for (const auto& p : r->removed) std::printf("removed %s\n", p.c_str());
      for (const auto& p : r->busy) std::printf("kept %s (in use by a running build)\n", p.c_str());
      std::printf("freed %s\n", HumanSize(r->bytes).c_str());
      return 0;
    };
  });
}

}  // namespace arrow::cli
