// `arrow inspect FILE.arrow`: the manifest, the config, and every packed file with its size and
// the reason it was included; `--json` prints the same as one JSON document.
#include <cstdio>
#include <iostream>

#include "builder/build.h"
#include "cli/commands.h"
#include "packer/arrow_file.h"
#include "registry/registry.h"

namespace arrow::cli {

namespace {

// What inspect shows, from a local archive or from a registry (manifest + config only).
struct View {
  std::string manifest_digest;
  nlohmann::json manifest, config;
  std::string config_digest;
  uint64_t config_size = 0;
  uint64_t initramfs_size = 0;
};

View FromLocal(const packer::ArrowImage& img) {
  View v{img.manifest_digest, img.manifest, img.config_json, img.config.digest, img.config.size, 0};
  if (const packer::Blob* b = img.FindLayer(packer::kInitramfsMediaType)) v.initramfs_size = b->size;
  return v;
}

View FromRemote(const registry::RemoteImage& r) {
  View v{r.manifest_digest, r.manifest, r.config, "", r.config_raw.size(), 0};
  v.config_digest = r.manifest.value("/config/digest"_json_pointer, std::string());
  for (const auto& l : r.manifest.value("layers", nlohmann::json::array()))
    if (l.value("mediaType", "") == packer::kInitramfsMediaType) v.initramfs_size = l.value("size", uint64_t{0});
  return v;
}

int PrintText(const View& img) {
  const auto& c = img.config;
  std::printf("manifest   %s\n", img.manifest_digest.c_str());
  std::printf("artifact   %s\n", img.manifest.value("artifactType", "").c_str());
  std::printf("config     %s (%s)\n", img.config_digest.c_str(), HumanSize(img.config_size).c_str());
  for (const auto& l : img.manifest.value("layers", nlohmann::json::array()))
    std::printf("layer      %-45s %s (%s)\n", l.value("mediaType", "").c_str(),
                l.value("digest", "").c_str(), HumanSize(l.value("size", uint64_t{0})).c_str());
  std::printf("\nname       %s %s\n", c.value("name", "").c_str(), c.value("version", "").c_str());
  std::string argv;
  for (const auto& a : c.value("entrypoint", nlohmann::json::array())) argv += (argv.empty() ? "" : " ") + a.dump();
  std::printf("entrypoint %s\n", argv.c_str());
  std::printf("workdir    %s\n", c.value("workdir", "").c_str());
  for (const auto& e : c.value("env", nlohmann::json::array()))
    std::printf("env        %s\n", e.is_string() ? e.get<std::string>().c_str() : e.dump().c_str());
  std::string ports;
  for (const auto& p : c.value("ports", nlohmann::json::array()))
    ports += (ports.empty() ? "" : " ") + (p.is_string() ? p.get<std::string>() : p.dump());
  std::printf("ports      %s\n", ports.empty() ? "(none)" : ports.c_str());
  const auto vn = c.value("/kernel/virtio_net"_json_pointer, nlohmann::json());
  const auto inet = c.value("/kernel/inet"_json_pointer, nlohmann::json());
  std::printf("network    %s\n",
              !vn.is_boolean()   ? "unknown (prebuilt kernel)"
              : vn.get<bool>()   ? "virtio-net (kernel has the driver)"
              : !inet.is_boolean() ? "none (kernel has no virtio-net driver)"  // an older arrow
              : inet.get<bool>() ? "loopback only (kernel has IPv4, no virtio-net driver)"
                                 : "none, not even loopback (kernel has no IPv4: nothing packed opens a socket)");
  std::string vols;
  for (const auto& p : c.value("volumes", nlohmann::json::array()))
    vols += (vols.empty() ? "" : " ") + (p.is_string() ? p.get<std::string>() : p.dump());
  std::printf("volumes    %s\n", vols.empty() ? "(none)" : vols.c_str());
  const auto root = c.value("root", nlohmann::json::object());
  if (root.value("type", "") == "erofs")
    std::printf("root       EROFS layer, %s of files in %s (%s)\n",
                HumanSize(root.value("file_bytes", uint64_t{0})).c_str(),
                HumanSize(root.value("bytes", uint64_t{0})).c_str(), root.value("choice", "").c_str());
  else
    std::printf("root       initramfs (%s)\n", root.value("choice", "an arrow from before the root choice").c_str());
  const auto vb = c.value("/kernel/virtio_blk"_json_pointer, nlohmann::json());
  std::printf("storage    %s\n", vb.is_boolean() ? (vb.get<bool>() ? "virtio-blk (kernel has the driver)"
                                                                   : "none (kernel has no virtio-blk driver)")
                                                : "unknown (prebuilt kernel or an older arrow)");
  std::printf("kernel     %s (%s), config %s\n",
              c.value("/kernel/version"_json_pointer, std::string("?")).c_str(),
              c.value("/kernel/origin"_json_pointer, std::string("?")).c_str(),
              c.contains("/kernel/config_digest"_json_pointer) &&
                      c.at("/kernel/config_digest"_json_pointer).is_string()
                  ? c.at("/kernel/config_digest"_json_pointer).get<std::string>().c_str()
                  : "(prebuilt image)");
  std::printf("cmdline    %s\n", c.value("/kernel/cmdline"_json_pointer, std::string()).c_str());
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
  uint64_t packed = img.initramfs_size;
  std::printf("\n%zu entries, %s in files, initramfs %s (ratio %.2f)\n", files.size(),
              HumanSize(total).c_str(), HumanSize(packed).c_str(),
              packed ? double(c.value("/initramfs/cpio_bytes"_json_pointer, uint64_t{0})) / packed : 0.0);
  return 0;
}

}  // namespace

void AddInspect(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string image;
    bool json = false, plain_http = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show an arrow's manifest, config and files");
  cmd->add_option("image", f->image, "An .arrow file or a registry reference (host/repo:tag)")
      ->required();
  cmd->add_flag("--json", f->json, "Machine-readable output");
  cmd->add_flag("--plain-http", f->plain_http, "For a reference: HTTP instead of HTTPS");
  cmd->callback([f, selected] {
    *selected = [f]() -> int {
      nlohmann::json layers = nlohmann::json::array();
      View v;
      std::error_code ec;
      if (std::filesystem::exists(f->image, ec) || f->image.ends_with(".arrow")) {
        auto img = packer::ReadArrow(f->image);
        if (!img) {
          std::cerr << "arrow inspect: " << img.message() << "\n";
          return 1;
        }
        v = FromLocal(*img);
      } else {  // a registry reference: manifest and config only, no layers pulled
        auto ref = registry::ParseReference(f->image);
        if (!ref) {
          std::cerr << "arrow inspect: '" << f->image << "' is neither a file nor a reference: "
                    << ref.message() << "\n";
          return 2;
        }
        registry::ClientOptions co;
        co.plain_http = f->plain_http;
        co.progress = false;
        auto remote = registry::InspectRemote(*ref, co);
        if (!remote) {
          std::cerr << "arrow inspect: " << remote.message() << "\n";
          return 1;
        }
        v = FromRemote(*remote);
      }
      if (!f->json) return PrintText(v);
      for (const auto& l : v.manifest.value("layers", nlohmann::json::array()))
        layers.push_back({{"mediaType", l.value("mediaType", "")},
                          {"digest", l.value("digest", "")},
                          {"size", l.value("size", uint64_t{0})}});
      nlohmann::json out = {{"manifestDigest", v.manifest_digest},
                            {"manifest", v.manifest},
                            {"config", v.config},
                            {"layers", layers}};
      std::cout << out.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace arrow::cli
