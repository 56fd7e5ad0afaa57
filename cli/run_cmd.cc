// `arrow run` / `arrow-run FILE.arrow [options] [-- args...]`: boots an arrow on the built-in
// KVM VMM or qemu and exits with the app's exit status. This is the one place where runner
// outcomes become exit codes: the app's status; 124 timeout; 125 runner error (bad image, no
// usable KVM, guest panic/triple fault/reset without a status); 126/127 come from arrow-init;
// 130 when stopped by Ctrl-A x or a signal.
#include <sys/resource.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <regex>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "builder/recipe.h"
#include "cli/catalog.h"
#include "cli/commands.h"
#include "cli/console_log.h"
#include "cli/instances.h"
#include "packer/arrow_file.h"
#include "registry/registry.h"
#include "runner/launch.h"
#include "runner/qemu.h"
#include "runner/vmm.h"

namespace arrow::cli {
namespace {

using runner::kExitInterrupted;

struct RunFlags {
  std::string image, memory, vmm = "auto", timeout, qemu_cpu, stop_timeout = "10s";
  bool plain_http = false;
  std::vector<std::string> args, env, append, publish, volumes;
  int cpus = 0;
  bool quiet = false, json = false, boot_time = false;
  std::string net = "user";
  bool publish_all = false, allow_host_loopback = false;
  bool detach = false;  // -d: RunDetached forks, the child runs RunMain with on_guest_up set
  std::string name, ready_timeout = "120s", log_max_size = "16M";
  std::string trace_out;  // a traced run (arrow-build --trace, arrow trace): where its lines go
  std::function<void()> on_guest_up;
  CLI::Option* net_opt = nullptr;
  bool no_seccomp = false;       // built-in VMM: no syscall filters (debugging only)
  int64_t uid = -1, gid = -1;    // built-in VMM started as root: the ids it drops to
};

// "30s", "500ms", "2m" or plain seconds ("1.5").
Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    pos = 0;
  }
  const std::string unit = text.substr(pos);
  double ms = unit == "ms"                  ? v
              : unit == "s" || unit.empty() ? v * 1000
              : unit == "m"                 ? v * 60000
                                            : -1;
  if (pos == 0 || ms < 0 || v < 0)
    return Err("invalid duration '", text, "' (expected e.g. 30s, 500ms, 2m)");
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

// Peak resident memory of the VMM: its process, a child of this one for both backends (qemu, or
// the built-in VMM's confined process, guest pages it touched included).
long MaxRssKb() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_maxrss;
}

double Ms(std::chrono::nanoseconds d) {
  return static_cast<double>(d.count()) / 1e6;
}

struct Report {
  int exit_code = 0;
  std::string outcome, message, vmm;
  std::optional<double> boot_ms;
  double run_ms = 0;
};

int Finish(const RunFlags& f, const Report& r) {
  if (!r.message.empty()) std::cerr << "arrow-run: " << r.message << "\n";
  if (f.boot_time) {
    char line[160];
    if (r.boot_ms)
      snprintf(line, sizeof line, "arrow-run: boot %.1f ms (VMM start to init), run %.1f ms (%s)\n",
               *r.boot_ms, r.run_ms, r.vmm.c_str());
    else
      snprintf(line, sizeof line, "arrow-run: run %.1f ms (%s; the guest never signalled init start)\n",
               r.run_ms, r.vmm.c_str());
    std::cerr << line;
  }
  if (f.json) {
    nlohmann::json j = {
        {"exit_status", r.exit_code},
        {"outcome", r.outcome},
        {"vmm", r.vmm},
        {"boot_time_ms", r.boot_ms ? nlohmann::json(*r.boot_ms) : nlohmann::json(nullptr)},
        {"run_time_ms", r.run_ms},
        {"max_rss_kb", MaxRssKb()}};
    if (!r.message.empty()) j["message"] = r.message;
    std::cout << "\n" << j.dump() << std::endl;
  }
  return r.exit_code;
}

int RunMain(const RunFlags& f) {
  Report rep;
  auto fail = [&](const std::string& m) {
    rep.exit_code = runner::kExitRunnerError;
    rep.outcome = "runner-error";
    rep.message = m;
    return Finish(f, rep);
  };
  runner::RunOptions o;
  o.quiet = f.quiet;
  if (!f.memory.empty()) {
    auto m = builder::ParseSize(f.memory);
    if (!m) return fail("--memory: " + m.message());
    o.memory = *m;
  }
  if (f.cpus > 0) o.cpus = f.cpus;
  if (!f.timeout.empty()) {
    auto t = ParseDuration(f.timeout);
    if (!t) return fail("--timeout: " + t.message());
    o.timeout = *t;
  }
  {
    auto t = ParseDuration(f.stop_timeout);
    if (!t) return fail("--stop-timeout: " + t.message());
    o.stop_timeout = *t;
  }
  if (!f.args.empty()) o.args = f.args;
  o.extra_cmdline = f.append;
  o.volumes = f.volumes;
  o.trace_out = f.trace_out;
  o.on_guest_up = f.on_guest_up;
  o.net.mode = f.net;
  o.net.mode_given = f.net_opt && f.net_opt->count() > 0;
  o.net.publish = f.publish;
  o.net.publish_all = f.publish_all;
  o.net.allow_host_loopback = f.allow_host_loopback;
  o.net.quiet = f.quiet;
  o.qemu_cpu = f.qemu_cpu;
  o.jail.seccomp = !f.no_seccomp;
  if (f.uid >= 0) o.jail.uid = static_cast<uid_t>(f.uid);
  if (f.gid >= 0) o.jail.gid = static_cast<gid_t>(f.gid);
  for (const auto& e : f.env) {
    size_t eq = e.find('=');
    if (eq == 0) return fail("--env '" + e + "': expected KEY=VALUE");
    if (eq == std::string::npos) {  // like docker: --env KEY takes the host's value
      const char* v = getenv(e.c_str());
      if (!v) return fail("--env '" + e + "': expected KEY=VALUE (and " + e + " is not set here)");
      o.env.push_back(e + "=" + v);
    } else {
      o.env.push_back(e);
    }
  }
  // A file, or a registry reference pulled into the local cache (only missing blobs fetched).
  registry::ClientOptions co;
  co.plain_http = f.plain_http;
  co.progress = !f.quiet;
  if (const char* sde = getenv("SOURCE_DATE_EPOCH"); sde && *sde) co.mtime = std::strtoll(sde, nullptr, 10);
  // A file; else a plain name in the catalog (built once, cached); else a registry reference.
  std::string image = f.image;
  std::error_code ec;
  if (!std::filesystem::exists(image, ec) && FindCatalogRecipe(image)) {
    auto built = CatalogArrow(image, f.quiet);
    if (!built) return fail(built.message());
    image = built->string();
  }
  auto local = registry::ResolveImage(image, co);
  if (!local) return fail(local.message());
  auto img = packer::ReadArrow(*local);
  if (!img) return fail(img.message());
  if (f.on_guest_up) {  // -d: say "up" when the arrow's [app] ready holds, else when init is up
    const auto r = img->config_json.value("ready", nlohmann::json());
    const std::string ready = r.is_string() ? r.get<std::string>() : "";
    if (ready.rfind("tcp:", 0) == 0 || ready.rfind("http:", 0) == 0) {
      o.on_ready = f.on_guest_up;  // arrow-init probes it and says "arrow:ready"
      o.on_guest_up = nullptr;
    } else if (ready.rfind("log:", 0) == 0) {
      o.on_guest_up = [re = ready.substr(4), up = f.on_guest_up] {
        if (auto* log = ConsoleLog::Current()) log->WatchLines(std::regex(re, std::regex::extended), up);
      };
    }
  }

  std::string vmm = f.vmm, why;
  const bool kvm_ok = runner::KvmUsableForLinux(&why);
  if (vmm == "auto") {
    vmm = kvm_ok ? "builtin" : "qemu";
    if (!kvm_ok && !f.quiet) std::cerr << "arrow-run: " << why << "; using qemu\n";
  } else if (vmm == "builtin" && !kvm_ok && !getenv("ARROW_FORCE_BUILTIN")) {
    return fail("--vmm builtin: " + why + " (use --vmm qemu or auto)");
  }
  rep.vmm = vmm;
  const auto start = std::chrono::steady_clock::now();
  if (vmm == "qemu") {
    auto r = runner::RunWithQemu(*img, o);
    rep.run_ms = Ms(std::chrono::steady_clock::now() - start);
    if (!r) return fail(r.message());
    rep.exit_code = r->exit_code;
    rep.message = r->diagnosis;
    if (r->boot_time) rep.boot_ms = Ms(*r->boot_time);
    rep.outcome = r->interrupted ? "interrupted"
                  : r->exit_code == runner::kExitTimeout && !r->diagnosis.empty() ? "timeout"
                  : r->diagnosis.empty()                                          ? "exited"
                                                                                  : "runner-error";
    return Finish(f, rep);
  }
  o.console_input = !f.detach;
  auto r = runner::RunWithBuiltin(*img, o);
  if (!r) return fail(r.message());
  rep.outcome = runner::OutcomeName(r->outcome);
  rep.run_ms = Ms(r->run_time);
  if (r->boot_time) rep.boot_ms = Ms(*r->boot_time);
  rep.message = r->message;
  switch (r->outcome) {
    case runner::Outcome::kExited:
      rep.exit_code = r->status;
      break;
    case runner::Outcome::kTimeout:
      rep.exit_code = runner::kExitTimeout;
      break;
    case runner::Outcome::kInterrupted:
      rep.exit_code = kExitInterrupted;
      break;
    case runner::Outcome::kTripleFault:
    case runner::Outcome::kReset:
    case runner::Outcome::kHalted:
    case runner::Outcome::kCrash:
      rep.exit_code = runner::kExitRunnerError;
      break;
  }
  return Finish(f, rep);
}

}  // namespace

void AddRun(CLI::App& app, std::function<int()>* selected) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Boot an .arrow image; exit with the app's status");
  cmd->add_option("image", f->image, "An .arrow file, a catalog name (arrow catalog) or a registry reference (host/repo:tag)")
      ->required();
  cmd->add_flag("--plain-http", f->plain_http, "For a reference: HTTP instead of HTTPS");
  cmd->add_option("args", f->args, "After --: arguments replacing the recipe's args");
  cmd->add_option("--env", f->env,
                  "KEY=VALUE added to (or replacing in) the app's environment; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--memory", f->memory, "Guest memory (e.g. 256M); default: the image's");
  cmd->add_option("--cpus", f->cpus, "vCPUs; default: the image's")->check(CLI::Range(1, 64));
  cmd->add_option("--timeout", f->timeout,
                  "Stop the guest after this long: 30s, 500ms, 2m (exit 124)");
  cmd->add_option("--vmm", f->vmm, "builtin (KVM), qemu, or auto (builtin when KVM can run Linux)")
      ->check(CLI::IsMember({"auto", "builtin", "qemu"}));
  cmd->add_option("--append", f->append, "Extra kernel command-line parameters (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--qemu-cpu", f->qemu_cpu,
                  "qemu backend: the -cpu model (e.g. EPYC,+svm for nested KVM)");
  cmd->add_option("-p,--publish", f->publish,
                  "Publish a guest port: [HOST_ADDR:][HOST_PORT:]GUEST_PORT[/tcp|/udp] (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("-v,--volume", f->volumes,
                  "Attach an ext4 volume image: IMAGE:/guest/path[:ro] (repeatable; see arrow volume)")
      ->allow_extra_args(false);  // one value per -v, so `-v A:/a -- args` keeps its args
  cmd->add_flag("-P,--publish-all", f->publish_all,
                "Publish every port the arrow declares on free host ports (printed)");
  f->net_opt = cmd->add_option("--net", f->net,
                               "Network: user (libslirp, default), passt, tap:NAME, or none (no NIC)")
                   ->check(CLI::Validator(
                       [](std::string& v) -> std::string {
                         if (v == "user" || v == "passt" || v == "none" ||
                             (v.rfind("tap:", 0) == 0 && v.size() > 4))
                           return "";
                         return "expected user, passt, tap:NAME or none";
                       },
                       "user|passt|tap:NAME|none"));
  cmd->add_option("--stop-timeout", f->stop_timeout,
                  "After SIGTERM/Ctrl-C to arrow-run: how long the app may take to exit (default 10s)");
  cmd->add_flag("--allow-host-loopback", f->allow_host_loopback,
                "Let the guest reach the host's 127.0.0.1 through 10.0.2.2 (off by default)");
  cmd->add_flag("--no-seccomp", f->no_seccomp,
                "Built-in VMM: run without its per-thread syscall filters (debugging only; warns)");
  cmd->add_option("--uid", f->uid,
                  "Built-in VMM started as root: the user id it continues as (default: nobody)")
      ->check(CLI::Range(int64_t{0}, int64_t{4294967294}));
  cmd->add_option("--gid", f->gid,
                  "Built-in VMM started as root: the group id it continues as (default: nobody's group)")
      ->check(CLI::Range(int64_t{0}, int64_t{4294967294}));
  cmd->add_flag("-q,--quiet", f->quiet, "App output only: a quiet kernel and no runner chatter");
  cmd->add_flag("--json", f->json,
                "Finish with one JSON line on stdout: exit status, outcome, boot and run time");
  cmd->add_flag("--boot-time", f->boot_time,
                "Print the boot time (VMM start to init) and run time on stderr");
  cmd->add_flag("-d,--detach", f->detach,
                "Run in the background as an instance (arrow ps/logs/stop/rm); prints its id once the guest is up");
  cmd->add_option("--trace-out", f->trace_out,
                  "A traced run: record what the app touches (needs an image built for tracing) into FILE")
      ->group("");  // internal: arrow-build --trace and arrow trace run it
  cmd->add_option("--name", f->name, "With -d: the instance's name (unique; default IMAGE-xxxx)");
  cmd->add_option("--log-max-size", f->log_max_size,
                  "With -d: console.log rotates to console.log.1 past this size (default 16M; at most twice it on disk)");
  cmd->add_option("--ready-timeout", f->ready_timeout,
                  "With -d: how long the guest may take to come up (default 120s)");
  cmd->callback([f, selected] {
    *selected = [f]() -> int {
      if (!f->detach) {
        if (!f->name.empty()) {
          std::cerr << "arrow-run: --name needs -d (a named, detached instance)\n";
          return runner::kExitRunnerError;
        }
        return RunMain(*f);
      }
      auto ready = ParseDuration(f->ready_timeout);
      if (!ready) {
        std::cerr << "arrow-run: --ready-timeout: " << ready.message() << "\n";
        return runner::kExitRunnerError;
      }
      auto log_max = builder::ParseSize(f->log_max_size);
      if (!log_max) {
        std::cerr << "arrow-run: --log-max-size: " << log_max.message() << "\n";
        return runner::kExitRunnerError;
      }
      DetachSpec d{f->image, f->name, f->publish, f->volumes, *ready, *log_max};
      std::error_code ec;
      if (!std::filesystem::exists(f->image, ec) && FindCatalogRecipe(f->image)) {
        auto built = CatalogArrow(f->image, f->quiet);  // before the ready timeout starts
        if (!built) {
          std::cerr << "arrow-run: " << built.message() << "\n";
          return runner::kExitRunnerError;
        }
        f->image = built->string();  // ps still shows the catalog name
      }
      return RunDetached(d, [f](std::function<void()> up) {
        f->on_guest_up = std::move(up);
        return RunMain(*f);
      });
    };
  });
}

}  // namespace arrow::cli
