// Kernel .config files and config fragments: parse, merge, and verify what Kconfig kept.
//
// A fragment (kernel-configs/microvm.config, a user's own file) and a full .config share one
// syntax: `CONFIG_X=y|m|"string"|number` and `# CONFIG_X is not set`; other `#` lines are
// comments. Fragments merge like the kernel's scripts/kconfig/merge_config.sh: a later value for
// the same option replaces the earlier one. After Kconfig has resolved dependencies, every
// requested option is checked against the final .config, because Kconfig silently drops an
// option whose dependencies are unmet; VerifyKernelConfig lists all of them and fails once.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace arrow::builder {

struct KernelOption {
  std::string value;   // "y", "m", "n" (also for "# CONFIG_X is not set"), "\"str\"", "250", "0x10"
  std::string origin;  // "microvm.config:42": where the value in effect was written
};

class KernelConfig {
 public:
  // Sets (or replaces) an option; the first definition fixes its position in Text().
  void Set(const std::string& name, KernelOption option);
  // Applies `overlay` on top of this config (later wins, as merge_config.sh).
  void Merge(const KernelConfig& overlay);

  const KernelOption* Find(std::string_view name) const;
  // "n" for options that are absent (Kconfig omits invisible symbols from .config).
  std::string ValueOf(std::string_view name) const;
  const std::vector<std::string>& names() const { return order_; }
  size_t size() const { return order_.size(); }
  // Canonical fragment text: one line per option, in first-definition order. Stable across
  // comment and whitespace edits, so it is what the kernel cache key hashes.
  std::string Text() const;

 private:
  std::vector<std::string> order_;
  std::map<std::string, KernelOption, std::less<>> options_;
};

// Parses fragment or .config text; `name` prefixes errors and origins ("net.config:3").
Result<KernelConfig> ParseKernelConfig(std::string_view text, std::string_view name);
Result<KernelConfig> LoadKernelConfig(const std::filesystem::path& path);

// A requested option Kconfig did not keep as requested.
struct DroppedOption {
  std::string name;       // "CONFIG_VIRTIO_NET"
  std::string requested;  // "y"
  std::string actual;     // "n" when dropped, "y" when an "m" was forced built-in, ...
  std::string origin;     // "net.config:5"
};

// Every option of `requested` whose value differs in `final_config`. A requested "n" is met by an
// absent option.
std::vector<DroppedOption> FindDroppedOptions(const KernelConfig& requested,
                                              const KernelConfig& final_config);
// Fails with one line per dropped option and a hint (menuconfig / the Kconfig `depends on`).
Status VerifyKernelConfig(const KernelConfig& requested, const KernelConfig& final_config);

}  // namespace arrow::builder
