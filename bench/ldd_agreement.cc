// ldd_agreement: accuracy benchmark of the loader model against its ground truth, ldd(1).
//
// For every ELF executable and shared library under the given directories (default /usr/bin,
// /usr/sbin and, recursively, /usr/lib/x86_64-linux-gnu), compares the real paths Closure::Resolve
// finds with the real paths `ldd FILE` prints ("not found" entries compared by name), and times
// both in the same run. Exit status 0 only at 100 % agreement: ctest runs it, so any loader rule
// we get wrong on this machine fails the suite. Files that are not a question for ld.so are
// skipped as exceptions, each category justified below and in the output:
//   linux-vdso.so.1   ldd lists it, but it is mapped by the kernel, not a file in any image;
//   static / ET_REL    no PT_DYNAMIC or a relocatable object: ld.so loads nothing for it (ldd:
//                      "not a dynamic executable" / "statically linked");
//   other-arch ELF     32-bit or non-x86-64 objects (lib32 compat, firmware, BPF): the x86-64
//                      ld.so refuses them, ldd runs them with another loader if at all;
//   ldd refused        ldd exits non-zero on a dynamic x86-64 ELF: it has no answer to compare
//                      with (none in the default dirs; under /usr/lib these are the separate
//                      debug-info files of /usr/lib/debug, whose PT_DYNAMIC contents are NOBITS).
// One ldd artifact is folded in rather than skipped: ldd runs every file through
// /lib64/ld-linux-x86-64.so.2, whose trace mode lists ld.so only when some object in the graph
// NEEDs it (and prints "statically linked" for an object without DT_NEEDED). The kernel maps
// PT_INTERP regardless, so the closure keeps it; here ld.so is compared under ldd's rule.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "builder/closure.h"
#include "builder/elf.h"

extern char** environ;
namespace fs = std::filesystem;
using arrow::builder::Closure;

namespace {

std::string Real(const std::string& p) {
  std::error_code ec;
  auto c = fs::canonical(p, ec);
  return ec ? p : c.string();
}

struct LddOut {
  int status = -1;
  std::set<std::string> libs;
  bool vdso = false;
  double seconds = 0;
};

LddOut RunLdd(const std::string& file) {
  LddOut out;
  auto t0 = std::chrono::steady_clock::now();
  int fds[2];
  if (pipe(fds) != 0) return out;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  const char* argv[] = {"ldd", file.c_str(), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, "/usr/bin/ldd", &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (rc != 0) return out;
  int st = 0;
  waitpid(pid, &st, 0);
  out.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::string line = text.substr(i, j - i);
    i = j + 1;
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    line = line.substr(b);
    if (auto arrow = line.find(" => "); arrow != std::string::npos) {
      std::string rhs = line.substr(arrow + 4);
      if (rhs.rfind("not found", 0) == 0)
        out.libs.insert("not found: " + line.substr(0, arrow));
      else
        out.libs.insert(Real(rhs.substr(0, rhs.find(" ("))));
    } else if (line[0] == '/') {
      out.libs.insert(Real(line.substr(0, line.find(" ("))));
    } else if (line.rfind("linux-vdso.so.1", 0) == 0) {
      out.vdso = true;
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

void Collect(const fs::path& dir, bool recursive, std::vector<std::string>& files) {
  std::error_code ec;
  auto add = [&](const fs::directory_entry& e) {
    if (e.is_regular_file(ec) && !e.is_symlink(ec)) files.push_back(e.path().string());
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      add(*it);
  } else {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
      add(*it);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, bool>> dirs;
  for (int i = 1; i < argc; ++i) dirs.push_back({argv[i], true});
  if (dirs.empty())
    dirs = {{"/usr/bin", false}, {"/usr/sbin", false}, {"/usr/lib/x86_64-linux-gnu", true}};
  std::vector<std::string> all;
  for (auto& [d, rec] : dirs) Collect(d, rec, all);

  std::map<std::string, std::vector<std::string>> exceptions;
  std::vector<std::string> candidates;
  size_t non_elf = 0;
  for (const auto& f : all) {
    if (!arrow::builder::IsElfFile(f)) {
      ++non_elf;
      continue;
    }
    auto info = arrow::builder::ReadElf(f);
    if (!info) {
      exceptions["unreadable ELF (our reader rejects it; ld.so would too)"].push_back(
          info.message());
      continue;
    }
    if (info->elf_class != 2 || info->machine != 62) {
      exceptions["other-arch ELF (the x86-64 ld.so cannot load it)"].push_back(f);
      continue;
    }
    if (info->type != 2 && info->type != 3) {
      exceptions["ET_REL/core object (not loadable)"].push_back(f);
      continue;
    }
    if (!info->has_dynamic) {
      exceptions["static (no PT_DYNAMIC: ld.so loads nothing)"].push_back(f);
      continue;
    }
    candidates.push_back(f);
  }

  // Our side, serial, one Closure for all files (its caches are part of what we measure).
  arrow::builder::ClosureOptions opts;
  Closure closure(opts);
  std::vector<std::set<std::string>> ours(candidates.size());
  std::vector<std::string> our_err(candidates.size());
  std::vector<std::vector<std::string>> ours_paths(candidates.size());
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < candidates.size(); ++i) {
    auto r = closure.Resolve(candidates[i]);
    if (!r) {
      our_err[i] = r.message();
      continue;
    }
    for (const auto& p : r->loaded) ours[i].insert(Real(p)), ours_paths[i].push_back(p);
    for (const auto& m : r->missing) ours[i].insert("not found: " + m);
  }
  double our_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // ldd side, 2 workers; the ratio uses the sum of per-file ldd times (serial equivalent).
  std::vector<LddOut> ldd(candidates.size());
  std::atomic<size_t> next{0};
  auto t1 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w)
    workers.emplace_back([&] {
      for (size_t i; (i = next++) < candidates.size();) ldd[i] = RunLdd(candidates[i]);
    });
  for (auto& t : workers) t.join();
  double ldd_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  double ldd_s = 0;
  for (auto& l : ldd) ldd_s += l.seconds;

  size_t compared = 0, agree = 0, vdso = 0, rtld_unlisted = 0;
  std::vector<std::string> diffs;
  const std::string rtld = Real("/lib64/ld-linux-x86-64.so.2");
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& f = candidates[i];
    if (ldd[i].status != 0) {
      exceptions["ldd refused (non-zero exit: no answer to compare)"].push_back(f);
      continue;
    }
    if (ldd[i].vdso) ++vdso;
    ++compared;
    std::set<std::string> mine = ours[i];
    auto info = arrow::builder::ReadElf(f);
    // ld.so's trace mode lists itself only when some object in the graph NEEDs it
    // (rtld_multiple_ref in rtld.c), although the kernel always maps PT_INTERP for real runs.
    if (info) {
      if (!info->interpreter.empty()) mine.erase(Real(info->interpreter));
      mine.erase(rtld);
      bool referenced = false;
      std::vector<std::string> objs = {f};
      for (const auto& p : ours_paths[i]) objs.push_back(p);
      for (const auto& o : objs) {
        auto oi = arrow::builder::ReadElf(o);
        if (!oi) continue;
        for (const auto& n : oi->needed)
          if (n == "ld-linux-x86-64.so.2" || (!n.empty() && n[0] == '/' && Real(n) == rtld))
            referenced = true;
      }
      if (referenced)
        mine.insert(rtld);
      else
        ++rtld_unlisted;
    }
    if (!our_err[i].empty()) {
      diffs.push_back(f + ": our error: " + our_err[i]);
      continue;
    }
    if (mine == ldd[i].libs) {
      ++agree;
      continue;
    }
    std::string d = f + ":";
    for (const auto& p : mine)
      if (!ldd[i].libs.count(p)) d += "\n    only ours: " + p;
    for (const auto& p : ldd[i].libs)
      if (!mine.count(p)) d += "\n    only ldd:  " + p;
    diffs.push_back(d);
  }
  std::printf("ldd agreement over %zu files (%zu non-ELF ignored)\n", all.size(), non_elf);
  std::printf("compared: %zu  agreeing: %zu  disagreeing: %zu  (%.2f %%)\n", compared, agree,
              diffs.size(), compared ? 100.0 * agree / compared : 0.0);
  for (const auto& d : diffs) std::printf("  DIFF %s\n", d.c_str());
  std::printf("exceptions (skipped, with justification):\n");
  std::printf("  %zu x linux-vdso.so.1 entries ignored: mapped by the kernel, not a file\n", vdso);
  std::printf(
      "  %zu x ld.so left out of the comparison: ldd lists it only when an object NEEDs it\n",
      rtld_unlisted);
  for (const auto& [kind, files] : exceptions) {
    std::printf("  %zu x %s\n", files.size(), kind.c_str());
    for (size_t k = 0; k < files.size() && k < 5; ++k) std::printf("      %s\n", files[k].c_str());
    if (files.size() > 5) std::printf("      ...\n");
  }
  std::printf(
      "speed: closure %.3f s serial, ldd %.3f s serial-equivalent (%.1f s wall, 2 workers)\n",
      our_s, ldd_s, ldd_wall);
  std::printf("ratio closure/ldd = %.4f (%.0fx faster)\n", ldd_s > 0 ? our_s / ldd_s : 0.0,
              our_s > 0 ? ldd_s / our_s : 0.0);
  return compared > 0 && diffs.empty() ? 0 : 1;
}
