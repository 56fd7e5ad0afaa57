// Traced runs: what the app touched in a VM, and how that turns include trees into candidates.
//
// A trace image (BuildOptions::trace_image) packs the full candidate set: the static closure and
// every [files] include tree. arrow-init's fanotify recorder reports each file and directory the
// app opens, reads or executes over the control channel (init/trace.c); ParseTraceLines reads
// those lines back. AddTraced then builds the final image's closure: the static part plus every
// touched candidate, each with its own ELF/script closure, plus the candidate symlinks that lead
// to something packed, plus [trace] keep. The guest is untrusted: only paths that are
// candidates of the build root can enter the image, whatever the lines say.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "builder/closure.h"
#include "builder/recipe.h"
#include "common/result.h"

namespace arrow::builder {

struct TraceLog {
  std::map<std::string, std::string> touched;  // guest path -> the program that touched it first
  uint64_t lines = 0;
};

// Bounds on what one run may report (a guest flooding the channel gets an error, not memory).
inline constexpr uint64_t kMaxTraceLines = 1'000'000;

// The trace lines of one run (the --trace-out file), merged into `log`. `run` names the run in
// errors. A recorder error line, a missing or wrong end line, a malformed line or a path that
// is not absolute and normalized is an error.
Status ParseTraceLines(std::string_view text, std::string_view run, TraceLog* log);

struct TraceMerge {
  uint64_t touched = 0;     // distinct paths the runs reported
  uint64_t candidates = 0;  // of them, candidates that were packed
  uint64_t ignored = 0;     // not from the build root (Arrow's own files, files made at run time)
};

// Adds to `final` (the static part already in it) what the trace selects from `candidates`
// (a closure holding the static part and the include trees, as packed in the trace image).
TraceMerge AddTraced(Closure& final, Closure& candidates, const TraceLog& log,
                     const std::vector<std::string>& keep);

}  // namespace arrow::builder
