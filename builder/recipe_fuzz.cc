// libFuzzer target for the recipe reader: any text must give a Recipe or an error naming a
// line, never a crash, a hang or an exception escaping (recipes come from CI checkouts and from
// catalog pulls).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "builder/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = arrow::builder::ParseRecipe(std::string_view(reinterpret_cast<const char*>(data), size),
                                       "fuzz.recipe");
  (void)r;
  return 0;
}
