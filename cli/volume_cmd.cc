// `arrow volume create IMAGE --size N [--from DIR]` and `arrow volume inspect IMAGE`: the ext4
// image files `arrow-run -v IMAGE:/path` attaches (runner/volume.h does the work).
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "builder/recipe.h"
#include "cli/commands.h"
#include "runner/volume.h"

namespace arrow::cli {
namespace {

// Whether another arrow-run holds the image's lock right now.
std::string LockState(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "unknown";
  const bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);
  return free ? "free" : "in use by an arrow-run";
}

}  // namespace

void AddVolume(CLI::App& app, std::function<int()>* selected) {
  CLI::App* vol = app.add_subcommand("volume", "Create and look at volume images (ext4) for arrow-run -v");
  vol->require_subcommand(1);

  struct CreateFlags {
    std::string image, size, from, label, owner;
  };
  auto cf = std::make_shared<CreateFlags>();
  CLI::App* create = vol->add_subcommand("create", "Create an ext4 volume image (mke2fs)");
  create->add_option("image", cf->image, "The image file to create (must not exist)")->required();
  create->add_option("--size", cf->size, "Its size: 64M, 1G, ... (at least 8M)")->required();
  create->add_option("--from", cf->from, "Fill it with this directory's contents (mke2fs -d)");
  create->add_option("--label", cf->label, "The filesystem label (default: the file name)");
  create->add_option("--owner", cf->owner, "UID:GID owning its root directory (default 0:0)");
  create->callback([cf, selected] {
    *selected = [cf]() -> int {
      auto size = builder::ParseSize(cf->size);
      if (!size) {
        std::cerr << "arrow volume create: --size: " << size.message() << "\n";
        return 2;
      }
      runner::CreateVolumeOptions o;
      o.size = *size;
      o.from = cf->from;
      o.label = cf->label;
      o.owner = cf->owner;
      if (!o.owner.empty()) {
        unsigned uid, gid;
        char end;
        if (sscanf(o.owner.c_str(), "%u:%u%c", &uid, &gid, &end) != 2) {
          std::cerr << "arrow volume create: --owner '" << o.owner << "': expected UID:GID like 999:999\n";
          return 2;
        }
      }
      if (auto st = runner::CreateVolume(cf->image, o); !st) {
        std::cerr << "arrow volume create: " << st.message() << "\n";
        return 1;
      }
      auto info = runner::InspectExt4(cf->image);
      std::printf("created %s: ext4, %s, uuid %s\n", cf->image.c_str(),
                  HumanSize(info ? info->fs_bytes : *size).c_str(), info ? info->uuid.c_str() : "?");
      return 0;
    };
  });

  struct InspectFlags {
    std::string image;
    bool json = false;
  };
  auto inf = std::make_shared<InspectFlags>();
  CLI::App* inspect = vol->add_subcommand("inspect", "Show a volume image's filesystem and lock state");
  inspect->add_option("image", inf->image, "The image file")->required();
  inspect->add_flag("--json", inf->json, "Machine-readable output");
  inspect->callback([inf, selected] {
    *selected = [inf]() -> int {
      auto info = runner::InspectExt4(inf->image);
      if (!info) {
        std::cerr << "arrow volume inspect: " << info.message() << "\n";
        return 1;
      }
      const std::string state = info->errors ? "errors recorded (run e2fsck -f)"
                                : info->clean ? "clean"
                                              : "not cleanly unmounted (the journal replays on the next mount)";
      const std::string lock = LockState(inf->image);
      if (inf->json) {
        nlohmann::json j = {{"file", inf->image}, {"file_bytes", info->file_bytes},
                            {"fs_bytes", info->fs_bytes}, {"free_bytes", info->free_bytes},
                            {"block_size", info->block_size}, {"uuid", info->uuid},
                            {"label", info->label}, {"journal", info->journal},
                            {"clean", info->clean}, {"errors", info->errors}, {"lock", lock}};
        std::cout << j.dump(2) << "\n";
        return 0;
      }
      std::printf("file       %s (%s)\n", inf->image.c_str(), HumanSize(info->file_bytes).c_str());
      std::printf("filesystem ext4%s, %s, %s free, %u-byte blocks\n", info->journal ? " (journal)" : "",
                  HumanSize(info->fs_bytes).c_str(), HumanSize(info->free_bytes).c_str(), info->block_size);
      std::printf("label      %s\n", info->label.empty() ? "(none)" : info->label.c_str());
      std::printf("uuid       %s\n", info->uuid.c_str());
      std::printf("state      %s\n", state.c_str());
      std::printf("lock       %s\n", lock.c_str());
      return 0;
    };
  });
}

}  // namespace arrow::cli
