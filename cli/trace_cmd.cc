// Traced runs (trace_cmd.h) and the `arrow trace` verb: what a trace would keep and drop.
#include "cli/trace_cmd.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/verify.h"
#include "common/file_util.h"
#include "runner/net/ports.h"

namespace arrow::cli {
namespace fs = std::filesystem;
namespace {

using Args = std::optional<std::vector<std::string>>;

std::string Describe(size_t i, size_t n, const Args& args) {
  std::string s = std::to_string(i + 1) + "/" + std::to_string(n);
  if (!args) return s + " (the recipe's args)";
  s += " (args:";
  for (const auto& a : *args) s += " " + a;
  return s + ")";
}

// The end of a traced run's `arrow run` command: [trace] env, the image, the run's args.
void AppendRunTail(std::vector<std::string>* a, const builder::Recipe& r, const fs::path& image, const Args& args) {
  const auto env = EnvFlags(r.trace.env);
  a->insert(a->end(), env.begin(), env.end());
  a->push_back(image.string());
  if (!args) return;
  a->push_back("--");
  a->insert(a->end(), args->begin(), args->end());
}

// Why a traced run's exit status makes its trace unusable, if it does.
std::optional<std::string> BadExit(int code, const std::string& timeout) {
  if (code == 124) return "timed out after " + timeout + " ([trace] timeout)";
  if (code == 125) return "the run failed (arrow run exit 125)";
  if (code == 126 || code == 127) return "the entrypoint could not run (exit " + std::to_string(code) + ")";
  if (code > 128) return "the app was killed by signal " + std::to_string(code - 128) + " (it crashed)";
  return std::nullopt;
}

// A server app: detached, ports published, ready, probed, stopped gracefully.
Status ServiceRun(const builder::Recipe& r, const fs::path& image, const Args& args, const std::string& name,
                  const std::string& vmm, const fs::path& out, const fs::path& dir, size_t i) {
  setenv("ARROW_STATE_DIR", (dir / "state").c_str(), 1);
  std::vector<runner::net::PortMapping> published;
  for (const auto& p : r.app.ports) {
    if (!p.ends_with("/tcp")) continue;
    runner::net::PortMapping m;
    m.host_addr = "127.0.0.1";
    m.guest_port = static_cast<uint16_t>(std::stoi(p));
    published.push_back(m);
  }
  ARROW_TRY(runner::net::ResolveFreePorts(published));
  const std::string inst = "trace-" + std::to_string(i + 1);
  std::vector<std::string> a = {"run", "-d", "-q", "--vmm", vmm, "--name", inst, "--ready-timeout",
                                r.trace.timeout, "--trace-out", out.string()};
  for (const auto& m : published)
    a.insert(a.end(), {"-p", "127.0.0.1:" + std::to_string(m.host_port) + ":" + std::to_string(m.guest_port)});
  AppendRunTail(&a, r, image, args);
  const fs::path start = dir / (inst + "-start.log");
  if (const int code = RunSelf(a, start); code != 0) {
    PrintTail(start);
    (void)RunSelf({"logs", inst}, dir / (inst + ".log"));  // the app's console says why
    PrintTail(dir / (inst + ".log"));
    (void)RunSelf({"rm", "-f", inst}, dir / (inst + "-rm.log"));
    return Err("traced run ", name, ": the app did not start or become ready (arrow run -d exit ",
               std::to_string(code), ")");
  }
  std::string failed;
  for (const auto& h : r.trace.http) {
    int host = 0;
    for (const auto& m : published) if (m.guest_port == h.port) host = m.host_port;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::pair<int, std::string> got;
    while ((got = HttpGet(host, h.path)).first == 0 && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (got.first == 0 || got.first >= 500)
      failed = "probe http :" + std::to_string(h.port) + h.path + " got " +
               (got.first ? "status " + std::to_string(got.first) : std::string("no HTTP answer"));
    if (!failed.empty()) break;
  }
  (void)RunSelf({"stop", "--time", "10", inst}, dir / (inst + "-stop.log"));
  (void)RunSelf({"logs", inst}, dir / (inst + ".log"));
  (void)RunSelf({"rm", "-f", inst}, dir / (inst + "-rm.log"));
  if (!failed.empty()) {
    PrintTail(dir / (inst + ".log"));
    return Err("traced run ", name, ": ", failed);
  }
  return Ok{};
}

// The candidates a trace dropped and the include list a static recipe would need instead.
struct Diff {
  std::vector<std::string> dropped, include;
  uint64_t dropped_bytes = 0;
};

Diff Compare(const builder::BuildReport& before, const builder::BuildReport& after) {
  Diff d;
  std::set<std::string> kept;
  for (const auto& f : after.files) {
    kept.insert(f.path);
    const bool traced = f.reason.find("traced run") != std::string::npos || f.reason == "[trace] keep";
    if (traced && f.type != "dir") d.include.push_back(f.path);
  }
  for (const auto& f : before.files)
    if (f.type == "file" && !kept.count(f.path)) {
      d.dropped.push_back(f.path);
      d.dropped_bytes += f.size;
    }
  return d;
}

// `layers`: false for the trace image, whose layers are packed for one boot only.
nlohmann::json Sizes(const builder::BuildReport& r, bool layers) {
  nlohmann::json j = {{"files", builder::RegularFileCount(r.files)}, {"file_bytes", r.file_bytes}};
  if (layers) j.update({{"root", r.root}, {"initramfs_bytes", r.initramfs_bytes}, {"rootfs_bytes", r.rootfs_bytes}});
  return j;
}

}  // namespace

Result<TraceOutcome> TraceRecipe(const builder::Recipe& r, builder::BuildOptions o, const std::string& vmm,
                                 const fs::path& dir, bool quiet) {
  TraceOutcome t;
  for (const auto& k : r.trace.keep) {  // before minutes of tracing
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(o.sysroot / k.substr(1), ec)))
      return Err("[trace] keep: ", k, " is not in ", o.sysroot.string());
  }
  o.output = dir / (r.name + "-trace.arrow");
  o.trace_image = true;
  o.trace = nullptr;
  auto img = builder::BuildArrow(r, o);
  if (!img) return Err("trace image: ", img.message());
  t.image = std::move(*img);
  std::vector<Args> runs;
  if (r.trace.runs.empty()) runs.emplace_back(std::nullopt);
  for (const auto& run : r.trace.runs) runs.emplace_back(run);
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string name = Describe(i, runs.size(), runs[i]);
    if (!quiet) std::cerr << "arrow-build: traced run " << name << "\n";
    const fs::path out = fs::absolute(dir / ("run-" + std::to_string(i + 1) + ".trace"));
    const fs::path log = dir / ("run-" + std::to_string(i + 1) + ".log");
    std::optional<std::string> bad;
    if (!r.app.ports.empty()) {  // a server: it runs until it is stopped
      ARROW_TRY(ServiceRun(r, o.output, runs[i], name, vmm, out, dir, i));
    } else {
      std::vector<std::string> a = {"run", "-q", "--vmm", vmm, "--timeout", r.trace.timeout,
                                    "--trace-out", out.string()};
      AppendRunTail(&a, r, o.output, runs[i]);
      const int code = RunSelf(a, log);
      bad = BadExit(code, r.trace.timeout);
      if (!bad && code != 0)
        t.warnings.push_back("traced run " + name + ": the app exited with status " + std::to_string(code) +
                             "; what it touched is used");
    }
    auto text = ReadFile(out);
    builder::TraceLog one;
    Status parsed = text ? builder::ParseTraceLines(*text, name, &one)
                         : Status(Err("traced run ", name, ": no trace was written (", text.message(), ")"));
    // A recorder error says more than the exit status it caused.
    if (!parsed && text && text->find("arrow:trace-error") != std::string::npos) return parsed.error();
    if (bad) {
      PrintTail(log);
      return Err("traced run ", name, ": ", *bad);
    }
    if (!parsed) {
      PrintTail(log);
      return parsed.error();
    }
    for (auto& [path, exe] : one.touched) t.log.touched.emplace(path, exe);
    t.log.lines += one.lines;
    t.runs++;
  }
  return t;
}

std::string TraceSummary(const TraceOutcome& t, const builder::BuildReport& final) {
  char b[512];
  snprintf(b, sizeof b,
           "trace: %d run(s), %zu paths touched (%llu candidates, %llu Arrow's own or made at run time); "
           "files %zu -> %zu, %s -> %s",
           t.runs, t.log.touched.size(), static_cast<unsigned long long>(final.trace ? final.trace->candidates : 0),
           static_cast<unsigned long long>(final.trace ? final.trace->ignored : 0), builder::RegularFileCount(t.image.files), builder::RegularFileCount(final.files),
           HumanSize(t.image.file_bytes).c_str(), HumanSize(final.file_bytes).c_str());
  return b;
}

void AddTrace(CLI::App& app, std::function<int()>* selected) {
  struct Flags {
    std::string recipe, sysroot = "/", kernel, vmm = "auto";
    bool json = false, quiet = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "trace", "Run a recipe's app in a VM and report what it touches: what a traced build keeps and drops");
  cmd->add_option("recipe", f->recipe, "The recipe (TOML)")->required();
  cmd->add_option("--sysroot", f->sysroot, "Build root to take the app and its libraries from");
  cmd->add_option("--kernel", f->kernel, "Prebuilt kernel bzImage (overrides [kernel]; needs fanotify)");
  cmd->add_option("--vmm", f->vmm, "builtin, qemu or auto, for the traced runs");
  cmd->add_flag("--json", f->json, "Print the report as JSON");
  cmd->add_flag("-q,--quiet", f->quiet, "No progress lines");
  cmd->callback([f, selected] {
    *selected = [f]() -> int {
      auto recipe = builder::LoadRecipe(f->recipe);
      if (!recipe) {
        std::cerr << "arrow trace: " << recipe.message() << "\n";
        return 1;
      }
      auto tmp = TempDir::Create("arrow-trace");
      if (!tmp) {
        std::cerr << "arrow trace: " << tmp.message() << "\n";
        return 1;
      }
      builder::BuildOptions o;
      o.sysroot = f->sysroot;
      o.kernel_override = f->kernel;
      o.init_binary = FindInitBinary();
      if (!f->quiet) o.progress = [](std::string_view l) { std::cerr << l << "\n"; };
      auto t = TraceRecipe(*recipe, o, f->vmm, tmp->path(), f->quiet);
      if (!t) {
        std::cerr << "arrow trace: " << t.message() << "\n";
        return 1;
      }
      o.output = tmp->path() / (recipe->name + ".arrow");
      o.trace = &t->log;
      auto after = builder::BuildArrow(*recipe, o);
      if (!after) {
        std::cerr << "arrow trace: the traced build: " << after.message() << "\n";
        return 1;
      }
      for (const auto& w : t->warnings) std::cerr << "arrow trace: warning: " << w << "\n";
      const Diff d = Compare(t->image, *after);
      if (f->json) {
        nlohmann::json j = {{"runs", t->runs}, {"touched", t->log.touched.size()},
                            {"candidates", after->trace ? after->trace->candidates : 0},
                            {"ignored", after->trace ? after->trace->ignored : 0},
                            {"static", Sizes(t->image, false)}, {"traced", Sizes(*after, true)},
                            {"dropped", d.dropped}, {"dropped_bytes", d.dropped_bytes},
                            {"include", d.include}, {"warnings", t->warnings}};
        std::cout << j.dump(2) << "\n";
        return 0;
      }
      std::printf("%s\n", TraceSummary(*t, *after).c_str());
      // The static row is the trace image's file set (its layers are packed for one boot only).
      std::printf("static %7zu files  %10s\n", builder::RegularFileCount(t->image.files), HumanSize(t->image.file_bytes).c_str());
      std::printf("traced %7zu files  %10s   root %s, initramfs %s%s%s\n", builder::RegularFileCount(after->files),
                  HumanSize(after->file_bytes).c_str(), after->root.c_str(),
                  HumanSize(after->initramfs_bytes).c_str(), after->rootfs_bytes ? ", EROFS layer " : "",
                  after->rootfs_bytes ? HumanSize(after->rootfs_bytes).c_str() : "");
      std::printf("dropped: %zu files (%s) of the include trees\n\n", d.dropped.size(),
                  HumanSize(d.dropped_bytes).c_str());
      std::printf("# What the traced runs used, as a static list (replaces the [files] include trees):\n"
                  "[files]\ninclude = [\n");
      for (const auto& p : d.include) std::printf("  %s,\n", nlohmann::json(p).dump().c_str());
      std::printf("]\n");
      return 0;
    };
  });
}

}  // namespace arrow::cli
