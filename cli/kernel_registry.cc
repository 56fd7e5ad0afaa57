// Kernel registry hooks; see kernel_registry.h.
#include "cli/kernel_registry.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "registry/kernel.h"

namespace arrow::cli {

std::string KernelRegistry(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("ARROW_KERNEL_REGISTRY");
  return env ? env : "";
}

std::string PublishKernel(const builder::KernelArtifact& k, const std::string& repo, const registry::ClientOptions& co) {
  registry::KernelMeta meta{k.key, k.version, k.config_digest, k.fragments};
  auto r = registry::PushKernel(k.bzimage, k.vmlinux_zst, k.config_file, meta, repo, co);
  if (!r) return r.message();
  std::fprintf(stderr, "[kernel] pushed kernel %s to %s (%s, %d blob(s) uploaded)\n", k.key.c_str(),
               r->reference.c_str(), r->manifest_digest.c_str(), r->blobs_uploaded);
  return "";
}

void UseKernelRegistry(const std::string& repo, bool push, const registry::ClientOptions& co,
                       std::function<Result<bool>(const builder::KernelPlan&, const std::filesystem::path&)>* fetch,
                       std::function<void(const builder::KernelArtifact&)>* compiled) {
  if (repo.empty()) return;
  *fetch = [repo, co](const builder::KernelPlan& plan, const std::filesystem::path& dir) -> Result<bool> {
    auto got = registry::FetchKernel(repo, plan.key, dir, co);
    if (!got) return Err("kernel registry ", repo, ": ", got.message());
    if (!*got) return Err("kernel registry ", repo, " has no kernel ", plan.key);
    std::fprintf(stderr, "[kernel] pulled kernel %s from %s\n", plan.key.c_str(), repo.c_str());
    return true;
  };
  if (push)
    *compiled = [repo, co](const builder::KernelArtifact& k) {
      if (auto why = PublishKernel(k, repo, co); !why.empty())
        std::fprintf(stderr, "[kernel] warning: could not push kernel %s to %s: %s\n", k.key.c_str(), repo.c_str(),
                     why.c_str());
    };
}

}  // namespace arrow::cli
