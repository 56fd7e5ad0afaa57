// kernel_cache: builds (or finds) a tuned kernel through builder::EnsureKernel and times a cold
// build against a cache hit of the same key in the same run.
//   kernel_cache [--config microvm] [--feature net]... [--source DIR|TARBALL] [-j N]
// Cache: $ARROW_CACHE_DIR, else $XDG_CACHE_HOME/arrow, else ~/.cache/arrow.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "builder/kernel_build.h"

using arrow::builder::EnsureKernel;
using arrow::builder::KernelBuildEnv;
using arrow::builder::KernelSpec;

int main(int argc, char** argv) {
  KernelSpec spec;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--config")
      spec.config = next();
    else if (a == "--feature")
      spec.features.push_back(next());
    else if (a == "--source")
      spec.source = next();
    else if (a == "-j")
      spec.jobs = std::atoi(next().c_str());
    else {
      std::fprintf(stderr,
                   "usage: %s [--config NAME|PATH] [--feature NAME|PATH]... [--source P] [-j N]\n",
                   argv[0]);
      return 2;
    }
  }
  KernelBuildEnv env = KernelBuildEnv::FromEnvironment();
  env.progress = [](std::string_view l) {
    std::printf("%.*s\n", int(l.size()), l.data()), std::fflush(stdout);
  };
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
  auto t0 = clock::now();
  auto first = EnsureKernel(spec, env);
  auto t1 = clock::now();
  if (!first.ok()) {
    std::fprintf(stderr, "error: %s\n", first.message().c_str());
    return 1;
  }
  auto second = EnsureKernel(spec, env);
  auto t2 = clock::now();
  if (!second.ok() || !second->hit) {
    std::fprintf(stderr, "error: second lookup was not a cache hit: %s\n",
                 second.ok() ? "" : second.message().c_str());
    return 1;
  }
  std::printf("kernel    %s\nversion   %s\nconfig    %s\nkey       %s\n", first->bzimage.c_str(),
              first->version.c_str(), first->config_digest.c_str(), first->key.c_str());
  std::printf("first     %.3f s (%s)\n", secs(t1 - t0), first->hit ? "cache hit" : "cold build");
  std::printf("cache hit %.3f s\n", secs(t2 - t1));
  return 0;
}
