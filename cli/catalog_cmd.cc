// `arrow catalog [--json]`: the ready recipes `arrow run NAME` finds (cli/catalog.h).
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "builder/recipe.h"
#include "cli/catalog.h"
#include "cli/commands.h"
#include "cli/verify.h"

namespace arrow::cli {

void AddVerify(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string image, vmm = "auto";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("verify", "Boot an arrow and run its recipe's [verify] checks (exit 1 if one fails)");
  cmd->add_option("image", f->image, "An .arrow file")->required();
  cmd->add_option("--vmm", f->vmm, "builtin, qemu or auto")->check(CLI::IsMember({"auto", "builtin", "qemu"}));
  cmd->callback([f, selected] { *selected = [f]() -> int { return VerifyArrow(f->image, f->vmm); }; });
}

void AddCatalog(CLI::App& app, std::function<int()>* selected) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("catalog", "List the ready apps `arrow run NAME` builds and runs");
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([json, selected] {
    *selected = [json]() -> int {
      std::map<std::string, std::filesystem::path> found;  // the first directory wins
      std::error_code ec;
      for (const auto& d : CatalogDirs())
        for (const auto& e : std::filesystem::directory_iterator(d, ec))
          if (e.path().extension() == ".recipe" && IsCatalogName(e.path().stem().string()))
            found.emplace(e.path().stem().string(), std::filesystem::weakly_canonical(e.path(), ec));
      nlohmann::json arr = nlohmann::json::array();
      if (!*json) std::printf("%-12s %-8s %-16s %-26s %s\n", "NAME", "VERSION", "PORTS", "VOLUMES", "RECIPE");
      for (const auto& [name, path] : found) {
        auto r = builder::LoadRecipe(path);
        if (!r) {
          std::cerr << "arrow catalog: skipping " << path.string() << ": " << r.message() << "\n";
          continue;
        }
        auto join = [](const std::vector<std::string>& v) {
          std::string s;
          for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
          return s.empty() ? std::string("-") : s;
        };
        if (*json)
          arr.push_back({{"name", name}, {"version", r->version}, {"ports", r->app.ports},
                         {"volumes", r->app.volumes}, {"recipe", path.string()}});
        else
          std::printf("%-12s %-8s %-16s %-26s %s\n", name.c_str(), r->version.c_str(), join(r->app.ports).c_str(),
                      join(r->app.volumes).c_str(), path.string().c_str());
      }
      if (*json) std::cout << arr.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace arrow::cli
