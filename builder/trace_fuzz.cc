// libFuzzer target for the trace-line parser: its input is what a guest wrote on the control
// channel during a traced run, so it is hostile. Built with -fsanitize=fuzzer,address,undefined
// when ARROW_FUZZ is ON; seed: builder/fuzz/corpus/trace/.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "builder/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  arrow::builder::TraceLog log;
  auto st = arrow::builder::ParseTraceLines(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz", &log);
  // A rejected trace adds nothing; an accepted one only absolute paths.
  if (!st.ok() && !log.touched.empty()) __builtin_trap();
  for (const auto& [path, exe] : log.touched)
    if (path.empty() || path[0] != '/' || path.find("/../") != std::string::npos) __builtin_trap();
  return 0;
}
