// libFuzzer target for the ld.so.cache parser (untrusted: it comes from the build root).
// Built with -fsanitize=fuzzer,address,undefined when ARROW_FUZZ is ON; seed: /etc/ld.so.cache.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "builder/ldcache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = arrow::builder::LdCache::Parse(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  if (r.ok()) (void)r->Lookup("libc.so.6", 4);
  return 0;
}
