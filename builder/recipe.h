// The recipe: a TOML file naming the app and how it runs; the builder finds everything else.
//
// Parsing is strict: unknown keys and wrong types are errors, and every error names
// file:line:column and what was expected, so a typo never silently changes an image.
// The full reference lives in README.md ("Recipe reference").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/closure.h"
#include "common/result.h"

namespace arrow::builder {

struct Recipe {
  std::filesystem::path file;  // where it was read from; [files] map sources are relative to its dir
  std::string text_digest;     // sha256 of the recipe text ("sha256:<hex>")
  std::string name;
  std::string version = "0.0.0";

  struct App {
    std::string exec;                        // guest path of the entrypoint
    std::vector<std::string> args;           // argv[1..]
    std::map<std::string, std::string> env;  // the app's environment (PATH/HOME/TERM defaulted)
    std::string workdir = "/";
    // What the app listens on, like a Dockerfile's EXPOSE: "80/tcp", "53/udp" (normalised).
    // Recorded in the config; `arrow-run -P` publishes them; a tuned kernel gets `net`.
    std::vector<std::string> ports;
    // Where the app keeps data that must outlive the VM ("/var/lib/postgresql"): recorded in the
    // config; `arrow-run -v IMAGE:PATH` attaches a volume there, without one it is a tmpfs. A
    // tuned kernel gets `block`.
    std::vector<std::string> volumes;
    // Who the app runs as: "UID[:GID]" or "NAME[:GROUP]" (looked up in the build root's
    // /etc/passwd and /etc/group). Empty: root. arrow-init drops to it before exec and gives it
    // the root directory of fresh volumes.
    std::string user;
    // When a service is ready: "tcp:PORT" (a connection to 127.0.0.1:PORT in the guest succeeds),
    // "http:PORT/PATH" (a GET there answers 2xx/3xx), both probed by arrow-init, or "log:REGEX"
    // (a console line matches, watched by the runner). `arrow run -d` returns once it holds.
    std::string ready;
  } app;

  struct Files {
    std::vector<std::string> include;            // guest paths taken from the build root
    std::vector<std::string> exclude;            // fnmatch patterns on guest paths
    std::map<std::string, std::string> map;      // guest path -> host path (relative to recipe dir)
    // Directories arrow-init creates at boot, writable by their owner ("/var/lib/nginx",
    // "/run/postgresql"): created after the volumes are mounted, so they may live on one.
    struct Dir {
      std::string path;
      std::string owner;    // UID[:GID] or NAME[:GROUP]; empty: the app's user, else root
      uint32_t mode = 0755;
    };
    std::vector<Dir> dirs;
  } files;

  struct Rules {
    bool nss = true;
    ClosureOptions::Libgcc libgcc_s = ClosureOptions::Libgcc::kAuto;  // "auto", true or false
    bool gconv = false;
    // .note.dlopen entries packed: "required", "recommended" (default) or "suggested".
    ClosureOptions::Dlopen dlopen = ClosureOptions::Dlopen::kRecommended;
  } rules;

  struct Kernel {
    std::string config;                 // tuned base config ("microvm" when nothing is set)
    std::vector<std::string> features;  // fragments: names in kernel-configs/ or paths
    std::string image;                  // host path of a prebuilt bzImage (instead of config)
    std::vector<std::string> modules;   // with image: modules to load at boot (+ dependencies)
    std::string cmdline;                // appended to Arrow's default kernel command line
    // How a tuned kernel is stored in the arrow: "vmlinux" (the stripped ELF, zstd-compressed as
    // the layer; no decompression at boot) or "bzimage" (self-decompressing, the old layout). A
    // prebuilt image is always stored as the bzImage it is.
    std::string format = "vmlinux";
  } kernel;

  struct Image {
    // Where the app's files live in the guest: "initramfs" (unpacked into RAM), "erofs" (a
    // read-only EROFS disk under a tmpfs overlay; a tuned kernel gets `block`) or "auto" (erofs
    // when the files add up to at least kErofsAutoThreshold).
    std::string root = "auto";
  } image;

  // [verify]: checks `arrow-build --verify` and `arrow verify` run against the booted arrow. With
  // http or tcp checks the arrow runs as a service (its ports published to free host ports,
  // checked once it is ready); otherwise it runs to completion with `args` and its exit status
  // and output are checked.
  struct Verify {
    bool present = false;
    std::optional<std::vector<std::string>> args;  // argv[1..] for the check run
    int exit = 0;
    std::string stdout_re;  // a line of the console must match (extended regex)
    struct Http {
      int port = 0;
      std::string path = "/";
      int status = 200;
      std::string body_re;  // the body must contain a match
    };
    std::vector<Http> http;
    std::vector<int> tcp;   // ports that must accept a connection
    std::map<std::string, std::string> env;  // extra environment of the check run (--env)
    std::string timeout = "120s";
  } verify;

  // [trace]: how `arrow-build --trace` and `arrow trace` run the app to see what it touches.
  // Without the section the app runs once with its own args.
  struct Trace {
    bool present = false;
    std::vector<std::vector<std::string>> runs;  // argv[1..] of each traced run
    struct Http {
      int port = 0;
      std::string path = "/";
    };
    std::vector<Http> http;          // probes from the host while a server app runs (needs ports)
    std::string timeout = "60s";     // per traced run
    std::vector<std::string> keep;   // guest paths always packed, traced or not
    std::map<std::string, std::string> env;  // extra environment of the traced runs (--env)
  } trace;

  struct Vm {
    uint64_t memory = 128ull << 20;
    int cpus = 1;
  } vm;
};

// `[image] root = "auto"` picks the EROFS root from this many bytes of packed files on
// (README, "Large apps", has the measurement behind it).
inline constexpr uint64_t kErofsAutoThreshold = 16ull << 20;

// Parses recipe text; `filename` is used in messages and to resolve [files] map sources.
Result<Recipe> ParseRecipe(std::string_view text, const std::filesystem::path& filename);
Result<Recipe> LoadRecipe(const std::filesystem::path& path);

// A host path named in a recipe ([files] map sources, [kernel] image, fragment paths): relative
// paths are relative to the recipe's directory.
std::filesystem::path RecipePath(const Recipe& recipe, const std::string& path);

// A declared port: 80, "80", "53/udp", "8080/tcp" -> "80/tcp", "53/udp", "8080/tcp".
Result<std::string> NormalizePort(std::string_view spec);

// "128M", "1G", "512K", "1048576" -> bytes. Used by the recipe and by CLI flags.
Result<uint64_t> ParseSize(std::string_view text);

}  // namespace arrow::builder
