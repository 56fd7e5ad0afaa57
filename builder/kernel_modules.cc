// modules.dep resolution and module decompression (see kernel_modules.h).
#include "builder/kernel_modules.h"

#include <fnmatch.h>

#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "builder/command.h"
#include "common/file_util.h"

namespace arrow::builder {
namespace fs = std::filesystem;
namespace {

struct DepGraph {
  std::map<std::string, std::string> file_of;            // canonical name -> relative path
  std::map<std::string, std::vector<std::string>> deps;  // canonical name -> dep names
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// modules.dep: "kernel/a/b.ko.xz: kernel/c.ko.xz kernel/d.ko.xz" (paths relative to the dir).
Result<DepGraph> ParseModulesDep(std::string_view text, const std::string& where) {
  DepGraph g;
  std::istringstream in{std::string(text)};
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#') continue;
    size_t colon = l.find(':');
    if (colon == std::string_view::npos)
      return Err(where, ":", std::to_string(n), ": expected 'module.ko: dependencies...'");
    std::string file(Trim(l.substr(0, colon)));
    std::string name = CanonicalModuleName(file);
    g.file_of[name] = file;
    auto& d = g.deps[name];
    std::istringstream rest{std::string(l.substr(colon + 1))};
    std::string dep;
    while (rest >> dep) {
      std::string dn = CanonicalModuleName(dep);
      d.push_back(dn);
      g.file_of.emplace(dn, dep);  // normally also has its own line
    }
  }
  return g;
}

ModuleCompression CompressionOf(std::string_view rel) {
  if (rel.ends_with(".ko.xz")) return ModuleCompression::kXz;
  if (rel.ends_with(".ko.zst")) return ModuleCompression::kZstd;
  if (rel.ends_with(".ko.gz")) return ModuleCompression::kGzip;
  return ModuleCompression::kNone;
}

}  // namespace

std::string CanonicalModuleName(std::string_view p) {
  size_t slash = p.rfind('/');
  if (slash != std::string_view::npos) p.remove_prefix(slash + 1);
  size_t ko = p.find(".ko");
  if (ko != std::string_view::npos) p = p.substr(0, ko);
  std::string n(p);
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

Result<ModuleSet> ResolveModules(const fs::path& dir, const std::vector<std::string>& names) {
  const fs::path dep_path = dir / "modules.dep";
  auto dep_text = ReadFile(dep_path);
  if (!dep_text.ok())
    return Err(dep_text.message(), " (is ", dir.string(),
               " a lib/modules/<version> directory? run depmod)");
  auto graph = ParseModulesDep(*dep_text, dep_path.string());
  if (!graph.ok()) return graph.error();

  std::set<std::string> builtin;
  if (auto t = ReadFile(dir / "modules.builtin"); t.ok()) {
    std::istringstream in(*t);
    std::string l;
    while (std::getline(in, l))
      if (!Trim(l).empty()) builtin.insert(CanonicalModuleName(Trim(l)));
  }
  // modules.alias: "alias <glob> <module>"; consulted only for names that are not modules.
  std::vector<std::pair<std::string, std::string>> aliases;
  if (auto t = ReadFile(dir / "modules.alias"); t.ok()) {
    std::istringstream in(*t);
    std::string kw, glob, mod;
    while (in >> kw >> glob >> mod)
      if (kw == "alias") aliases.emplace_back(glob, CanonicalModuleName(mod));
  }

  ModuleSet out;
  std::vector<std::string> missing;
  std::set<std::string> done, visiting;
  std::string cycle;
  // Post-order DFS: a module is appended after all of its dependencies.
  std::function<void(const std::string&)> visit = [&](const std::string& n) {
    if (done.count(n)) return;
    if (visiting.count(n)) {
      if (cycle.empty()) cycle = n;
      return;
    }
    visiting.insert(n);
    auto d = graph->deps.find(n);
    if (d != graph->deps.end())
      for (const auto& dep : d->second) visit(dep);
    visiting.erase(n);
    done.insert(n);
    ModuleFile m;
    m.name = n;
    m.relative = graph->file_of[n];
    m.path = fs::path(m.relative).is_absolute() ? fs::path(m.relative) : dir / m.relative;
    m.compression = CompressionOf(m.relative);
    m.packed_relative = m.relative.substr(0, m.relative.rfind(".ko") + 3);
    out.load_order.push_back(std::move(m));
  };
  for (const auto& requested : names) {
    std::string n = CanonicalModuleName(requested);
    if (graph->file_of.count(n)) {
      visit(n);
      continue;
    }
    if (builtin.count(n)) {
      out.builtin.push_back(n);
      continue;
    }
    std::string via;
    for (const auto& [glob, mod] : aliases)
      if (::fnmatch(glob.c_str(), requested.c_str(), 0) == 0 && graph->file_of.count(mod)) {
        via = mod;
        break;
      }
    if (via.empty())
      missing.push_back(requested);
    else
      visit(via);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Err(dir.string(), ": kernel module(s) not found: ", list,
               " (not in modules.dep, modules.builtin or modules.alias)");
  }
  if (!cycle.empty()) return Err(dep_path.string(), ": dependency cycle through module ", cycle);
  return out;
}

Status DecompressModule(const ModuleFile& m, const fs::path& dest) {
  const char* tool = nullptr;
  switch (m.compression) {
    case ModuleCompression::kNone: {
      std::error_code ec;
      fs::copy_file(m.path, dest, fs::copy_options::overwrite_existing, ec);
      if (ec) return Err(m.path.string(), ": cannot copy to ", dest.string(), ": ", ec.message());
      return Ok{};
    }
    case ModuleCompression::kXz:
      tool = "xz";
      break;
    case ModuleCompression::kZstd:
      tool = "zstd";
      break;
    case ModuleCompression::kGzip:
      tool = "gzip";
      break;
  }
  std::string errors;
  CommandOptions o;
  o.stdout_file = dest;
  o.on_line = [&](std::string_view l) { errors.append(l).push_back('\n'); };
  auto rc = RunCommand({tool, "-dc", m.path.string()}, o);
  if (!rc.ok()) return rc.error();
  if (*rc != 0) return Err(m.path.string(), ": ", tool, " -dc failed: ", errors);
  return Ok{};
}

}  // namespace arrow::builder
