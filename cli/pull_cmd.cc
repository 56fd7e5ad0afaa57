// `arrow pull REF [-o FILE.arrow]`: fetch an arrow from an OCI registry through the local blob
// cache (registry::Pull). The output is written atomically: on any failure nothing is left.
// Exit codes: 0 pulled, 1 pull failed (network, auth, digest mismatch, bad reply), 2 usage.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/registry_flags.h"
#include "registry/registry.h"

namespace arrow::cli {

void AddPull(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string ref, output;
    RegistryFlags reg;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("pull", "Pull an .arrow from an OCI registry");
  cmd->add_option("reference", f->ref, "What: [host[:port]/]path[:tag][@sha256:...]")->required();
  cmd->add_option("-o,--output", f->output, "Output file (default: <last path component>.arrow)");
  AddRegistryFlags(cmd, &f->reg);
  cmd->callback([f, selected] {
    *selected = [f]() -> int {
      registry::ClientOptions o;
      if (std::string e = ToClientOptions(f->reg, &o); !e.empty()) {
        std::cerr << "arrow pull: " << e << "\n";
        return 2;
      }
      auto ref = registry::ParseReference(f->ref);
      if (!ref) {
        std::cerr << "arrow pull: " << ref.message() << "\n";
        return 2;
      }
      std::string out = f->output;
      if (out.empty()) out = ref->repository.substr(ref->repository.rfind('/') + 1) + ".arrow";
      auto r = registry::Pull(*ref, out, o);
      if (!r) {
        std::cerr << "arrow pull: " << r.message() << "\n";
        return 1;
      }
      if (f->reg.json) {
        nlohmann::json j = {{"reference", r->reference},
                            {"digest", r->manifest_digest},
                            {"path", r->path.string()},
                            {"blobs_downloaded", r->blobs_downloaded},
                            {"blobs_cached", r->blobs_cached},
                            {"bytes_downloaded", r->bytes_downloaded},
                            {"seconds", r->seconds}};
        std::printf("%s\n", j.dump(2).c_str());
      } else if (!f->reg.quiet) {
        std::printf("pulled %s@%s -> %s (%d blob(s) downloaded, %d from cache, %s in %.2f s)\n",
                    r->reference.c_str(), r->manifest_digest.c_str(), out.c_str(),
                    r->blobs_downloaded, r->blobs_cached, HumanSize(r->bytes_downloaded).c_str(),
                    r->seconds);
      }
      return 0;
    };
  });
}

}  // namespace arrow::cli
