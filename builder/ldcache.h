// The build root's library search configuration as glibc 2.36's ld.so sees it: the binary
// /etc/ld.so.cache ("glibc-ld.so.cache1.1", with the glibc-hwcaps extension), the ld.so.conf
// text files (only used when the root has no cache: ld.so never reads them at run time), and the
// hwcap subdirectories ld.so appends to every search directory on this CPU.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace arrow::builder {

// x86-64 micro-architecture level the loader would select: 1 (baseline) .. 4 (x86-64-v4).
// Computed with cpuid/xgetbv using the feature lists of glibc 2.36 sysdeps/x86/get-isa-level.h
// ("usable" features: AVX and AVX-512 also need the OS to enable their state in XCR0), i.e. the
// same answer as `ld.so --help` "supported" lines. Images run on the host they are built for.
int HostX86Level();

// Subdirectories (with trailing '/', "" last) that ld.so 2.36 tries under each search directory,
// in its order: glibc-hwcaps/x86-64-v{4,3,2} as supported by `level`, then the legacy hwcap
// combinations of tls, AT_PLATFORM `platform` and the x86_64 hwcap (duplicates removed).
std::vector<std::string> SearchSubdirs(int level, const std::string& platform);

class LdCache {
 public:
  struct Entry {
    std::string name;   // key: the soname looked up
    std::string path;   // value: guest path of the library
    int32_t flags = 0;  // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 for x86-64 libraries
    uint64_t hwcap = 0;
    int hwcaps_index = -1;  // glibc-hwcaps subdirectory index, -1 for a plain entry
  };

  // Parses a cache image (old "ld.so-1.7.0" prefix tolerated); `name` is used in messages.
  static Result<LdCache> Parse(std::string_view bytes, std::string_view name);

  // What ld.so's search_cache returns for `soname` on a CPU of x86 `level`: among x86-64
  // entries with that key, the glibc-hwcaps entry of the highest supported level, else the
  // first plain entry. Legacy-hwcap entries (hwcap bits without the extension) are ignored:
  // ldconfig 2.36 no longer creates them.
  std::optional<std::string> Lookup(std::string_view soname, int level) const;

  const std::vector<Entry>& entries() const { return entries_; }
  const std::vector<std::string>& hwcaps() const { return hwcaps_; }

 private:
  std::vector<Entry> entries_;
  std::vector<std::string> hwcaps_;  // glibc-hwcaps subdirectory names ("x86-64-v3")
};

// Reads <root>/etc/ld.so.cache; std::nullopt if the root has none, an error if it is corrupt.
Result<std::optional<LdCache>> LoadLdCache(const std::filesystem::path& root);

// Directories listed by <root>/etc/ld.so.conf and its `include` globs (resolved in the root),
// in file order, without duplicates. Missing conf is an empty list.
std::vector<std::string> ReadLdSoConf(const std::filesystem::path& root);

}  // namespace arrow::builder
