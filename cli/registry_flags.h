// Flags shared by `arrow push` and `arrow pull`: transport, output and cache options that map
// onto registry::ClientOptions.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <string>

#include "builder/recipe.h"
#include "registry/registry.h"

namespace arrow::cli {

struct RegistryFlags {
  bool plain_http = false, json = false, quiet = false, verbose = false;
  int retries = 4;
  std::string chunk_size = "16MiB", limit_rate, cache_dir;
};

inline void AddRegistryFlags(CLI::App* cmd, RegistryFlags* f) {
  cmd->add_flag("--plain-http", f->plain_http,
                "Use HTTP instead of HTTPS (implied for localhost, 127.0.0.0/8 and [::1])");
  cmd->add_flag("--json", f->json, "Print the result as JSON (with the manifest digest)");
  cmd->add_flag("-q,--quiet", f->quiet, "Print only errors");
  cmd->add_flag("-v,--verbose", f->verbose, "Log every HTTP request and its status on stderr");
  cmd->add_option("--retries", f->retries, "Extra attempts on 5xx and connection errors")
      ->check(CLI::Range(0, 20));
  cmd->add_option("--chunk-size", f->chunk_size,
                  "Upload blobs larger than this in PATCH chunks of this size (e.g. 16MiB)");
  cmd->add_option("--limit-rate", f->limit_rate,
                  "Cap each transfer at this many bytes per second (e.g. 10MiB)");
  cmd->add_option("--cache-dir", f->cache_dir,
                  "Blob cache (default $ARROW_CACHE_DIR, $XDG_CACHE_HOME/arrow or ~/.cache/arrow)");
}

// "16MiB", "512k", "1G", "4096" -> bytes (builder::ParseSize); 0 on a malformed value.
inline uint64_t ParseByteSize(const std::string& s) {
  auto r = builder::ParseSize(s);
  return r.ok() ? *r : 0;
}

// Fills `o` from the flags; returns an error message for a malformed size.
inline std::string ToClientOptions(const RegistryFlags& f, registry::ClientOptions* o) {
  o->plain_http = f.plain_http;
  o->max_retries = f.retries;
  o->progress = !f.quiet;
  o->verbose = f.verbose;
  o->chunk_size = ParseByteSize(f.chunk_size);
  if (o->chunk_size == 0) return "--chunk-size: '" + f.chunk_size + "' is not a size (e.g. 16MiB)";
  if (!f.limit_rate.empty()) {
    o->limit_rate = ParseByteSize(f.limit_rate);
    if (o->limit_rate == 0)
      return "--limit-rate: '" + f.limit_rate + "' is not a size (e.g. 10MiB)";
  }
  o->cache_dir = f.cache_dir;
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde)
    o->mtime = std::strtoll(sde, nullptr, 10);
  return "";
}

}  // namespace arrow::cli
