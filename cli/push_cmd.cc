// `arrow push FILE.arrow REF`: publish an arrow to an OCI registry (registry::Push).
// Exit codes: 0 pushed, 1 push failed (file, network, auth, registry), 2 usage or bad reference.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/registry_flags.h"
#include "registry/registry.h"

namespace arrow::cli {

void AddPush(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string file, ref;
    RegistryFlags reg;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("push", "Push an .arrow to an OCI registry");
  cmd->add_option("file", f->file, "The .arrow file")->required();
  cmd->add_option("reference", f->ref, "Where to: [host[:port]/]path[:tag]")->required();
  AddRegistryFlags(cmd, &f->reg);
  cmd->callback([f, selected] {
    *selected = [f]() -> int {
      registry::ClientOptions o;
      if (std::string e = ToClientOptions(f->reg, &o); !e.empty()) {
        std::cerr << "arrow push: " << e << "\n";
        return 2;
      }
      auto ref = registry::ParseReference(f->ref);
      if (!ref) {
        std::cerr << "arrow push: " << ref.message() << "\n";
        return 2;
      }
      auto r = registry::Push(f->file, *ref, o);
      if (!r) {
        std::cerr << "arrow push: " << r.message() << "\n";
        return 1;
      }
      if (f->reg.json) {
        nlohmann::json j = {{"reference", r->reference},
                            {"digest", r->manifest_digest},
                            {"blobs_uploaded", r->blobs_uploaded},
                            {"blobs_skipped", r->blobs_skipped},
                            {"bytes_uploaded", r->bytes_uploaded},
                            {"chunks", r->chunks},
                            {"seconds", r->seconds}};
        std::printf("%s\n", j.dump(2).c_str());
      } else if (!f->reg.quiet) {
        std::printf("pushed %s@%s (%d blob(s) uploaded, %d already present, %s in %.2f s)\n",
                    r->reference.c_str(), r->manifest_digest.c_str(), r->blobs_uploaded,
                    r->blobs_skipped, HumanSize(r->bytes_uploaded).c_str(), r->seconds);
      }
      return 0;
    };
  });
}

}  // namespace arrow::cli
