// `arrow inspect FILE.arrow`: the manifest, the config, and every packed file with its size and
// the reason it was included; `--json` prints the same as one JSON document.
#include <cstdio>
#include <iostream>

#include "builder/build.h"
#include "cli/commands.h"
#include "packer/arrow_file.h"

namespace arrow::cli {

namespace {

int PrintText(const packer::ArrowImage& img) {
  const auto& c = img.config_json;
  std::printf("manifest   %s\n", img.manifest_digest.c_str());
  std::printf("artifact   %s\n", img.manifest.value("artifactType", "").c_str());
  std::printf("config     %s (%s)\n", img.config.digest.c_str(), HumanSize(img.config.size).c_str());
  for (const auto& l : img.layers)
    std::printf("layer      %-45s %s (%s)\n", l.media_type.c_str(), l.digest.c_str(),
                HumanSize(l.size).c_str());
  std::printf("\nname       %s %s\n", c.value("name", "").c_str(), c.value("version", "").c_str());
  std::string argv;
  for (const auto& a : c.value("entrypoint", nlohmann::json::array())) argv += (argv.empty() ? "" : " ") + a.dump();
  std::printf("entrypoint %s\n", argv.c_str());
  std::printf("workdir    %s\n", c.value("workdir", "").c_str());
  for (const auto& e : c.value("env", nlohmann::json::array()))
    std::printf("env        %s\n", e.is_string() ? e.get<std::string>().c_str() : e.dump().c_str());
  std::printf("kernel     %s, cmdline \"%s\"\n",
              c.value("/kernel/version"_json_pointer, std::string("?")).c_str(),
              c.value("/kernel/cmdline"_json_pointer, std::string()).c_str());
  std::printf("vm         %s, %d cpu(s)\n",
              HumanSize(c.value("/vm/memory"_json_pointer, uint64_t{0})).c_str(),
              c.value("/vm/cpus"_json_pointer, 0));
  std::printf("builder    arrow %s, recipe %s\n\n",
              c.value("/builder/version"_json_pointer, std::string("?")).c_str(),
              c.value("recipe_digest", "").c_str());
  auto files = builder::FilesFromJson(c.value("files", nlohmann::json::array()));
  uint64_t total = 0;
  for (const auto& f : files) {
    std::string what = f.type == "file" ? HumanSize(f.size) : f.type;
    std::string reason = f.reason;
    if (f.type == "symlink") reason += " [-> " + f.target + "]";
    std::printf("%10s  %-58s %s\n", what.c_str(), f.path.c_str(), reason.c_str());
    total += f.size;
  }
  const packer::Blob* initrd = img.FindLayer(packer::kInitramfsMediaType);
  uint64_t packed = initrd ? initrd->size : 0;
  std::printf("\n%zu entries, %s in files, initramfs %s (ratio %.2f)\n", files.size(),
              HumanSize(total).c_str(), HumanSize(packed).c_str(),
              packed ? double(c.value("/initramfs/cpio_bytes"_json_pointer, uint64_t{0})) / packed : 0.0);
  return 0;
}

}  // namespace

void AddInspect(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string image;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show an arrow's manifest, config and files");
  cmd->add_option("image", f->image, "The .arrow file")->required();
  cmd->add_flag("--json", f->json, "Machine-readable output");
  cmd->callback([f, selected] {
    *selected = [f]() -> int {
      auto img = packer::ReadArrow(f->image);
      if (!img) {
        std::cerr << "arrow inspect: " << img.message() << "\n";
        return 1;
      }
      if (!f->json) return PrintText(*img);
      nlohmann::json layers = nlohmann::json::array();
      for (const auto& l : img->layers)
        layers.push_back({{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
      nlohmann::json out = {{"manifestDigest", img->manifest_digest},
                            {"manifest", img->manifest},
                            {"config", img->config_json},
                            {"layers", layers}};
      std::cout << out.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace arrow::cli
