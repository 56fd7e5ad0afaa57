// Traced runs from the CLI: `arrow-build --trace` and `arrow trace RECIPE`.
//
// TraceRecipe builds the recipe's trace image (every candidate, a kernel with fanotify), boots
// it once per [trace] run through this same program (`arrow run --trace-out`), and collects
// what the app touched. A server app ([app] ports) runs detached with its ports published on
// free 127.0.0.1 ports: once it is ready the [trace] http probes are sent, then it is stopped
// gracefully.
// A run that times out, crashes, fails a probe, or whose recorder fails is an error naming the
// run; nothing is written then.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "builder/build.h"
#include "builder/recipe.h"
#include "builder/trace.h"
#include "common/result.h"

namespace arrow::cli {

struct TraceOutcome {
  builder::TraceLog log;
  builder::BuildReport image;  // the trace image: the files a static build packs
  int runs = 0;
  std::vector<std::string> warnings;
};

// `options` are the build's (output and trace fields are replaced); scratch files go to `dir`.
Result<TraceOutcome> TraceRecipe(const builder::Recipe& recipe, builder::BuildOptions options,
                                 const std::string& vmm, const std::filesystem::path& dir, bool quiet);

// One line for the build summary: "trace: 2 runs, 187 paths touched, ...".
std::string TraceSummary(const TraceOutcome& t, const builder::BuildReport& final);

}  // namespace arrow::cli
