// The catalog: ready recipes people run by name (`arrow run nginx`), built once and cached.
//
// A name is looked up, first match wins, in ./NAME.recipe, $ARROW_CATALOG (a directory),
// ~/.config/arrow/recipes/, then the recipes installed with Arrow (<prefix>/share/arrow/recipes,
// or the source tree's recipes/ for a build tree). Only plain names are catalog names: anything
// with '/' or ':' (docker.io/library/nginx, localhost:5000/web:1) is a registry reference, and an
// existing file is always a file. A built catalog arrow is cached in $ARROW_CATALOG_CACHE, else
// catalog/ in the kernel cache's directory, as NAME-KEY.arrow, KEY = sha256 of the recipe text,
// the files it maps, arrow-init, the kernel fragments the build reads and Arrow's version; a
// cached arrow is rebuilt when a file it packed from the build root changed size or disappeared.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::cli {

bool IsCatalogName(const std::string& s);
std::vector<std::filesystem::path> CatalogDirs();
std::optional<std::filesystem::path> FindCatalogRecipe(const std::string& name);
// The arrow for a catalog name, built (with progress on stderr unless quiet) when not cached.
Result<std::filesystem::path> CatalogArrow(const std::string& name, bool quiet);

}  // namespace arrow::cli
