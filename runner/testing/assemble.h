// Test helper: assembles a tiny guest from source text with binutils (as + ld --oformat binary)
// at test time, so no guest binaries are checked in.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace arrow::runner::testing {

// `source` is GNU as syntax (AT&T) and should start with .code16 or .code64; the result is the
// flat binary linked to run at `base`.
Result<std::string> Assemble(const std::string& source, uint64_t base);

}  // namespace arrow::runner::testing
