// ld.so.cache / ld.so.conf parsing and hwcap subdirectory selection (see ldcache.h).
//
// The cache layout follows glibc 2.36 sysdeps/generic/dl-cache.h: a 48-byte header
// ("glibc-ld.so.cache" "1.1", nlibs, len_strings, flags, extension_offset), nlibs 24-byte
// entries (flags, key, value, osversion, hwcap) whose string offsets are relative to the header,
// and an extension directory whose glibc-hwcaps section lists subdirectory names. The file is
// untrusted input: every offset is checked before use.
#include "builder/ldcache.h"

#include <cpuid.h>
#include <glob.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace arrow::builder {
namespace {

constexpr int32_t kFlagElfLibc6 = 0x0003;
constexpr int32_t kFlagX8664Lib64 = 0x0300;
constexpr uint64_t kHwcapExtension = 1ULL << 62;
constexpr uint32_t kExtensionMagic = 0xEAA42174;
constexpr uint32_t kTagGlibcHwcaps = 1;

bool InBounds(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

template <typename T>
T Load(std::string_view b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

std::optional<std::string> CStr(std::string_view b, uint64_t off) {
  if (off >= b.size()) return std::nullopt;
  size_t end = b.find('\0', off);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(b.substr(off, end - off));
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int HostX86Level() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 1;
  const unsigned c1 = c;
  unsigned b7 = 0, c7 = 0, d7 = 0;
  if (__get_cpuid_max(0, nullptr) >= 7) __cpuid_count(7, 0, a, b7, c7, d7);
  unsigned c81 = 0;
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000001) __cpuid(0x80000001, a, b, c81, d);
  uint64_t xcr0 = 0;
  if (c1 & bit_OSXSAVE) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (uint64_t{hi} << 32) | lo;
  }
  bool v2 = (c1 & bit_CMPXCHG16B) && (c81 & bit_LAHF_LM) && (c1 & bit_POPCNT) && (c1 & bit_SSE3) &&
            (c1 & bit_SSE4_1) && (c1 & bit_SSE4_2) && (c1 & bit_SSSE3);
  if (!v2) return 1;
  bool avx_os = (xcr0 & 0x6) == 0x6;
  bool v3 = avx_os && (c1 & bit_AVX) && (b7 & bit_AVX2) && (b7 & bit_BMI) && (b7 & bit_BMI2) &&
            (c1 & bit_F16C) && (c1 & bit_FMA) && (c81 & bit_LZCNT) && (c1 & bit_MOVBE);
  if (!v3) return 2;
  bool avx512_os = (xcr0 & 0xE6) == 0xE6;
  bool v4 = avx512_os && (b7 & bit_AVX512F) && (b7 & bit_AVX512BW) && (b7 & bit_AVX512CD) &&
            (b7 & bit_AVX512DQ) && (b7 & bit_AVX512VL);
  return v4 ? 4 : 3;
}

std::vector<std::string> SearchSubdirs(int level, const std::string& platform) {
  std::vector<std::string> out;
  for (int v = 4; v >= 2; --v)
    if (level >= v) out.push_back("glibc-hwcaps/x86-64-v" + std::to_string(v) + "/");
  // Legacy hwcaps (removed in glibc 2.37): all subsets of {tls, platform, x86_64}, most
  // specific first, as `LD_DEBUG=libs` prints them on Debian 12.
  const std::string p = platform.empty() ? "" : platform + "/";
  std::vector<std::string> legacy = {"tls/" + p + "x86_64/", "tls/" + p, "tls/x86_64/", "tls/",
                                     p + "x86_64/",          p,          "x86_64/",     ""};
  std::set<std::string> seen;
  for (auto& s : legacy)
    if (seen.insert(s).second) out.push_back(s);
  return out;
}

Result<LdCache> LdCache::Parse(std::string_view bytes, std::string_view name) {
  std::string n(name);
  static constexpr std::string_view kOld = "ld.so-1.7.0";
  static constexpr std::string_view kNew = "glibc-ld.so.cache1.1";
  std::string_view b = bytes;
  if (b.substr(0, kOld.size()) == kOld) {
    if (b.size() < 16) return Err(n, ": truncated old-format header");
    uint64_t nlibs = Load<uint32_t>(b, 12);
    uint64_t skip = 16 + nlibs * 12;
    skip = (skip + 7) & ~uint64_t{7};
    if (skip > b.size()) return Err(n, ": old-format entries beyond end of file");
    b = b.substr(skip);
  }
  if (b.size() < 48 || b.substr(0, kNew.size()) != kNew)
    return Err(n, ": not a glibc-ld.so.cache1.1 file");
  uint32_t nlibs = Load<uint32_t>(b, 20);
  uint8_t endian = static_cast<uint8_t>(b[28]);
  if (endian == 3) return Err(n, ": big-endian cache not supported");
  uint32_t ext = Load<uint32_t>(b, 32);
  if (!InBounds(48, uint64_t{nlibs} * 24, b.size())) return Err(n, ": entries beyond end of file");
  LdCache cache;
  for (uint32_t i = 0; i < nlibs; ++i) {
    size_t o = 48 + size_t{i} * 24;
    Entry e;
    e.flags = Load<int32_t>(b, o);
    auto key = CStr(b, Load<uint32_t>(b, o + 4));
    auto value = CStr(b, Load<uint32_t>(b, o + 8));
    if (!key || !value) return Err(n, ": entry ", std::to_string(i), " string offset out of range");
    e.name = std::move(*key);
    e.path = std::move(*value);
    e.hwcap = Load<uint64_t>(b, o + 16);
    if ((e.hwcap >> 32) == (kHwcapExtension >> 32))
      e.hwcaps_index = static_cast<int>(e.hwcap & 0xffffffff);
    cache.entries_.push_back(std::move(e));
  }
  if (ext != 0) {
    if (!InBounds(ext, 8, b.size())) return Err(n, ": extension directory beyond end of file");
    if (Load<uint32_t>(b, ext) != kExtensionMagic) return Err(n, ": bad extension magic");
    uint32_t count = Load<uint32_t>(b, ext + 4);
    if (!InBounds(ext + 8, uint64_t{count} * 16, b.size()))
      return Err(n, ": extension sections beyond end of file");
    for (uint32_t i = 0; i < count; ++i) {
      size_t s = ext + 8 + size_t{i} * 16;
      if (Load<uint32_t>(b, s) != kTagGlibcHwcaps) continue;
      uint32_t off = Load<uint32_t>(b, s + 8), size = Load<uint32_t>(b, s + 12);
      if (!InBounds(off, size, b.size()) || size % 4 != 0)
        return Err(n, ": glibc-hwcaps section beyond end of file");
      for (uint32_t k = 0; k < size / 4; ++k) {
        auto str = CStr(b, Load<uint32_t>(b, off + size_t{k} * 4));
        if (!str) return Err(n, ": glibc-hwcaps string offset out of range");
        cache.hwcaps_.push_back(std::move(*str));
      }
    }
  }
  return cache;
}

std::optional<std::string> LdCache::Lookup(std::string_view soname, int level) const {
  const Entry* best = nullptr;
  int best_prio = -1;
  for (const Entry& e : entries_) {
    if (e.name != soname || e.flags != (kFlagElfLibc6 | kFlagX8664Lib64)) continue;
    int prio;
    if (e.hwcaps_index >= 0) {
      if (static_cast<size_t>(e.hwcaps_index) >= hwcaps_.size()) continue;
      const std::string& h = hwcaps_[e.hwcaps_index];
      if (h.size() != 9 || h.compare(0, 8, "x86-64-v") != 0) continue;
      int v = h[8] - '0';
      if (v < 2 || v > 4 || v > level) continue;
      prio = v;
    } else {
      if (e.hwcap != 0) continue;
      prio = 0;
    }
    if (prio > best_prio) best = &e, best_prio = prio;
  }
  if (!best) return std::nullopt;
  return best->path;
}

Result<std::optional<LdCache>> LoadLdCache(const std::filesystem::path& root) {
  std::filesystem::path p = root / "etc/ld.so.cache";
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) return std::optional<LdCache>();
  std::string bytes = ReadFile(p);
  auto c = LdCache::Parse(bytes, p.string());
  if (!c) return c.error();
  return std::optional<LdCache>(std::move(*c));
}

namespace {
void ParseConf(const std::filesystem::path& root, const std::string& guest, int depth,
               std::vector<std::string>& out, std::set<std::string>& seen) {
  if (depth > 8) return;
  std::ifstream in(root / guest.substr(guest.find_first_not_of('/') == std::string::npos
                                           ? guest.size()
                                           : guest.find_first_not_of('/')));
  std::string line;
  while (std::getline(in, line)) {
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ws(line);
    std::string word;
    if (!(ws >> word)) continue;
    if (word == "include") {
      std::string pat;
      while (ws >> pat) {
        if (pat[0] != '/') pat = std::filesystem::path(guest).parent_path().string() + "/" + pat;
        glob_t g{};
        std::string host = (root / pat.substr(1)).string();
        if (glob(host.c_str(), 0, nullptr, &g) == 0) {
          size_t strip = (root / "").string().size() - 1;
          for (size_t i = 0; i < g.gl_pathc; ++i)
            ParseConf(root, std::string(g.gl_pathv[i]).substr(strip), depth + 1, out, seen);
        }
        globfree(&g);
      }
    } else if (word == "hwcap") {
      continue;
    } else {
      std::string dir = word;
      if (auto eq = dir.find('='); eq != std::string::npos) dir.resize(eq);  // old "dir=TYPE"
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      if (dir[0] == '/' && seen.insert(dir).second) out.push_back(dir);
    }
  }
}
}  // namespace

std::vector<std::string> ReadLdSoConf(const std::filesystem::path& root) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  ParseConf(root, "/etc/ld.so.conf", 0, out, seen);
  return out;
}

}  // namespace arrow::builder
