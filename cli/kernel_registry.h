// Kernels shared through a registry (registry/kernel.h), wired into builds and `arrow kernel push`.
#pragma once

#include <functional>
#include <string>

#include "builder/kernel_build.h"
#include "registry/registry.h"

namespace arrow::cli {

// The registry of builds: `flag` (--kernel-registry) if given, else $ARROW_KERNEL_REGISTRY.
std::string KernelRegistry(const std::string& flag);

// Hooks for KernelBuildEnv: look a missing kernel up in `repo` before compiling (one line says
// what happened: pulled, not there, unreachable); with `push`, publish each kernel compiled.
// A registry problem never fails the build.
void UseKernelRegistry(const std::string& repo, bool push, const registry::ClientOptions& co,
                       std::function<Result<bool>(const builder::KernelPlan&, const std::filesystem::path&)>* fetch,
                       std::function<void(const builder::KernelArtifact&)>* compiled);

// Publishes a cached kernel as repo:<key>; prints the reference. Returns an error message or "".
std::string PublishKernel(const builder::KernelArtifact& k, const std::string& repo, const registry::ClientOptions& co);

}  // namespace arrow::cli
