// Loadable modules for a prebuilt distro kernel (`[kernel] image` + `modules = [...]`).
//
// Given <root>/lib/modules/<version> and module names ("kvm-amd", "virtio_net"; '-' and '_' are
// the same, as for modprobe), reads modules.dep (and modules.alias for names that are aliases,
// modules.builtin to skip built-in ones) and returns the module files with every dependency,
// in load order: dependencies first, each module once.
//
// Compressed modules: arrow-init loads modules with finit_module(). Linux 6.1 accepts
// MODULE_INIT_COMPRESSED_FILE only when built with CONFIG_MODULE_DECOMPRESS, which handles gzip
// and xz but not zstd (zstd arrived in 6.2), and Debian's 6.1 kernel has it off. So the builder
// decompresses .ko.xz/.ko.zst/.ko.gz at build time (DecompressModule, using the xz, zstd and gzip
// tools: liblzma is not among Arrow's libraries) and arrow-init always passes flags = 0.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace arrow::builder {

enum class ModuleCompression { kNone, kGzip, kXz, kZstd };

struct ModuleFile {
  std::string name;            // canonical: "kvm_amd"
  std::string relative;        // as in modules.dep: "kernel/arch/x86/kvm/kvm-amd.ko.xz"
  std::filesystem::path path;  // modules_dir / relative
  ModuleCompression compression = ModuleCompression::kNone;
  // Where it goes in the image, always uncompressed: "kernel/arch/x86/kvm/kvm-amd.ko".
  std::string packed_relative;
};

struct ModuleSet {
  std::vector<ModuleFile> load_order;  // dependencies first, each once
  std::vector<std::string> builtin;    // requested names built into the kernel (nothing to load)
};

// "kernel/x/kvm-amd.ko.zst" -> "kvm_amd"; "virtio-net" -> "virtio_net".
std::string CanonicalModuleName(std::string_view path_or_name);

// Resolves `names` in `modules_dir` (<root>/lib/modules/<version>). All unknown names are
// reported together in one error.
Result<ModuleSet> ResolveModules(const std::filesystem::path& modules_dir,
                                 const std::vector<std::string>& names);

// Writes the module's plain ELF bytes to `dest` (a copy when it is not compressed).
Status DecompressModule(const ModuleFile& module, const std::filesystem::path& dest);

}  // namespace arrow::builder
