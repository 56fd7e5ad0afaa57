// `arrow run` / `arrow-run FILE.arrow`: boots an arrow; exits with the app's exit status.
#include <iostream>

#include "builder/recipe.h"
#include "cli/commands.h"
#include "packer/arrow_file.h"
#include "runner/qemu.h"

namespace arrow::cli {

void AddRun(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string image, memory, vmm = "auto";
    int cpus = 0;
    double timeout = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("run", "Boot an .arrow image; exit with the app's status");
  cmd->add_option("image", f->image, "The .arrow file")->required();
  cmd->add_option("--memory", f->memory, "Guest memory (e.g. 256M); default: the image's");
  cmd->add_option("--cpus", f->cpus, "vCPUs; default: the image's")->check(CLI::Range(1, 64));
  cmd->add_option("--timeout", f->timeout, "Stop the guest after this many seconds (exit 124)");
  cmd->add_option("--vmm", f->vmm, "qemu (TCG or KVM) or auto")->check(CLI::IsMember({"auto", "qemu"}));
  cmd->callback([f, selected] {
    *selected = [f]() -> int {
      auto img = packer::ReadArrow(f->image);
      if (!img) {
        std::cerr << "arrow-run: " << img.message() << "\n";
        return runner::kExitRunnerError;
      }
      runner::RunOptions o;
      if (!f->memory.empty()) {
        auto m = builder::ParseSize(f->memory);
        if (!m) {
          std::cerr << "arrow-run: --memory: " << m.message() << "\n";
          return runner::kExitRunnerError;
        }
        o.memory = *m;
      }
      if (f->cpus > 0) o.cpus = f->cpus;
      o.timeout = std::chrono::milliseconds(static_cast<long long>(f->timeout * 1000));
      auto r = runner::RunWithQemu(*img, o);
      if (!r) {
        std::cerr << "arrow-run: " << r.message() << "\n";
        return runner::kExitRunnerError;
      }
      if (!r->diagnosis.empty()) std::cerr << "arrow-run: " << r->diagnosis << "\n";
      return r->exit_code;
    };
  });
}

}  // namespace arrow::cli
