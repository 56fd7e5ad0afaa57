// Strict recipe parser on toml++.
//
// toml++ gives every key and value a source position; the Checker (recipe_checker.h) walks the document
// against Arrow's schema, collecting every problem (unknown key, wrong type, bad value, missing
// key) as "file:line:column: message" so a user fixes a recipe in one round.
#include "builder/recipe.h"
#include "builder/recipe_checker.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <optional>
#include <regex>
#include <sstream>

#include <toml++/toml.h>

#include "common/file_util.h"
#include "common/guest_path.h"
#include "common/sha256.h"

namespace arrow::builder {
namespace {

using namespace recipe_detail;


bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
           c == '-' || c == '_' || c == '.';
  });
}

// Why a declared volume path is unusable, or nothing: it must be a clean absolute path that
// arrow-init can mount over (not /, not the kernel's or init's own directories).
std::optional<std::string> VolumePathProblem(const std::string& p) {
  if (p.size() < 2 || p[0] != '/' || p.back() == '/') return "must be an absolute path like /var/lib/app";
  if (p.find("//") != std::string::npos || p.find("/./") != std::string::npos ||
      p.find("/../") != std::string::npos || p.ends_with("/.") || p.ends_with("/.."))
    return "must be a normalised path (no //, . or ..)";
  for (unsigned char ch : p)
    if (ch <= ' ' || ch == 0x7f || ch == ':') return "must not hold spaces, control characters or ':'";
  if (const char* reserved = ReservedGuestPath(p))
    return std::string("is inside ") + reserved + ", which the kernel or arrow-init owns";
  return std::nullopt;
}

// Why a readiness spec is unusable, or nothing.
std::optional<std::string> ReadyProblem(const std::string& v) {
  auto port_ok = [](const std::string& p) {  // a TCP port: 1..65535, no protocol suffix
    return p.find('/') == std::string::npos && NormalizePort(p).ok();
  };
  if (v.rfind("tcp:", 0) == 0) {
    if (port_ok(v.substr(4))) return std::nullopt;
  } else if (v.rfind("http:", 0) == 0) {
    const std::string rest = v.substr(5);
    const size_t slash = rest.find('/');
    const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
    if (port_ok(rest.substr(0, slash)) &&
        std::none_of(path.begin(), path.end(), [](unsigned char ch) { return ch <= ' ' || ch == 0x7f; }))
      return std::nullopt;
  } else if (v.rfind("log:", 0) == 0 && v.size() > 4) {
    try {
      std::regex re(v.substr(4), std::regex::extended);
      return std::nullopt;
    } catch (const std::regex_error& e) {
      return "has a bad regular expression: " + std::string(e.what());
    }
  }
  return "must be \"tcp:PORT\", \"http:PORT/PATH\" or \"log:REGEX\", got '" + v + "'";
}

void ParseApp(Checker& c, const toml::table& app, Recipe& r) {
  c.CheckKeys(app, "app", {"exec", "args", "env", "workdir", "ports", "volumes", "user", "ready"});
  if (auto v = c.String(app, "ready")) {
    if (auto why = ReadyProblem(*v)) c.Fail(app.get("ready")->source(), "'ready' " + *why);
    else r.app.ready = *v;
  }
  if (auto v = c.String(app, "user")) {
    const bool ok = !v->empty() && std::count(v->begin(), v->end(), ':') <= 1 && v->front() != ':' &&
                    v->back() != ':' &&
                    std::all_of(v->begin(), v->end(), [](unsigned char ch) {
                      return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.' || ch == ':';
                    });
    if (!ok)
      c.Fail(app.get("user")->source(), "'user' must be UID[:GID] or NAME[:GROUP], got '" + *v + "'");
    r.app.user = *v;
  }
  if (auto v = c.String(app, "exec")) {
    if (!IsAbsoluteGuestPath(*v))
      c.Fail(app.get("exec")->source(), "'exec' must be an absolute path in the image, got '" + *v + "'");
    r.app.exec = *v;
  } else if (!app.get("exec")) {
    c.Fail(app.source(), "[app] is missing the required key 'exec' (the program to run)");
  }
  r.app.args = c.StringArray(app, "args");
  r.app.env = EnvTable(c, app, "");
  if (auto v = c.String(app, "workdir")) {
    if (!IsAbsoluteGuestPath(*v))
      c.Fail(app.get("workdir")->source(), "'workdir' must be an absolute path, got '" + *v + "'");
    r.app.workdir = *v;
  }
  if (const toml::node* n = app.get("ports")) {
    const toml::array* a = n->as_array();
    if (!a) c.Fail(n->source(), c.Expect("ports", "an array of ports like [80, \"53/udp\"]", *n));
    for (size_t i = 0; a && i < a->size(); i++) {
      const toml::node& e = (*a)[i];
      std::string text;
      if (e.is_integer()) text = std::to_string(e.as_integer()->get());
      else if (e.is_string()) text = e.as_string()->get();
      else {
        c.Fail(e.source(), "'ports' entries must be numbers or strings like \"53/udp\"");
        continue;
      }
      auto p = NormalizePort(text);
      if (!p) c.Fail(e.source(), "ports: " + p.message());
      else if (std::find(r.app.ports.begin(), r.app.ports.end(), *p) != r.app.ports.end())
        c.Fail(e.source(), "ports: '" + *p + "' is declared twice");
      else r.app.ports.push_back(*p);
    }
  }
  std::vector<std::string> vols = c.StringArray(app, "volumes");
  for (size_t i = 0; i < vols.size(); i++) {
    const toml::source_region& where = (*app.get("volumes")->as_array())[i].source();
    if (auto why = VolumePathProblem(vols[i])) {
      c.Fail(where, "volumes: '" + vols[i] + "' " + *why);
      continue;
    }
    for (const auto& prev : r.app.volumes)
      if (PathWithin(prev, vols[i]) || PathWithin(vols[i], prev))
        c.Fail(where, "volumes: '" + vols[i] + "' and '" + prev + "' " +
                          (prev == vols[i] ? "are the same path" : "nest (volumes cannot)"));
    r.app.volumes.push_back(vols[i]);
  }
}

void ParseImage(Checker& c, const toml::table& t, Recipe& r) {
  c.CheckKeys(t, "image", {"root"});
  if (auto v = c.String(t, "root")) {
    if (*v != "auto" && *v != "initramfs" && *v != "erofs")
      c.Fail(t.get("root")->source(), "'root' must be \"auto\", \"initramfs\" or \"erofs\", got '" + *v + "'");
    else
      r.image.root = *v;
  }
}

void ParseFiles(Checker& c, const toml::table& files, Recipe& r) {
  c.CheckKeys(files, "files", {"include", "exclude", "map", "dirs"});
  if (const toml::node* n = files.get("dirs")) {
    const toml::array* a = n->as_array();
    if (!a) c.Fail(n->source(), c.Expect("dirs", "an array of paths or { path, owner, mode } tables", *n));
    for (size_t i = 0; a && i < a->size(); i++) {
      const toml::node& e = (*a)[i];
      Recipe::Files::Dir d;
      if (e.is_string()) {
        d.path = e.as_string()->get();
      } else if (const toml::table* t = e.as_table()) {
        c.CheckKeys(*t, "files.dirs", {"path", "owner", "mode"});
        if (auto v = c.String(*t, "path")) d.path = *v;
        else c.Fail(e.source(), "[files] dirs: a table needs 'path'");
        if (auto v = c.String(*t, "owner")) d.owner = *v;
        if (auto v = c.String(*t, "mode")) {
          const bool octal = !v->empty() && v->size() <= 4 &&
                             std::all_of(v->begin(), v->end(), [](char ch) { return ch >= '0' && ch <= '7'; });
          if (!octal) c.Fail(t->get("mode")->source(), "[files] dirs: 'mode' must be octal like \"0750\", got '" + *v + "'");
          else d.mode = static_cast<uint32_t>(std::stoul(*v, nullptr, 8));
        }
      } else {
        c.Fail(e.source(), "[files] dirs entries must be paths or { path, owner, mode } tables");
        continue;
      }
      if (d.path.empty()) continue;
      if (auto why = VolumePathProblem(d.path)) c.Fail(e.source(), "[files] dirs: '" + d.path + "' " + *why);
      else r.files.dirs.push_back(std::move(d));
    }
  }
  r.files.include = c.StringArray(files, "include");
  for (size_t i = 0; i < r.files.include.size(); ++i) {
    if (!IsAbsoluteGuestPath(r.files.include[i]))
      c.Fail((*files.get("include")->as_array())[i].source(),
             "[files] include entries must be absolute paths, got '" + r.files.include[i] + "'");
  }
  r.files.exclude = c.StringArray(files, "exclude");
  r.files.map = c.StringTable(files, "map");
  for (const auto& [guest, host] : r.files.map) {
    if (!IsAbsoluteGuestPath(guest) || host.empty())
      c.Fail(files.get("map")->source(), "[files] map: '" + guest +
                                             "' must be an absolute guest path mapped to a host file");
  }
}

void ParseRules(Checker& c, const toml::table& rules, Recipe& r) {
  c.CheckKeys(rules, "rules", {"nss", "libgcc_s", "gconv", "dlopen"});
  if (auto v = c.String(rules, "dlopen")) {
    using D = ClosureOptions::Dlopen;
    if (*v == "required") r.rules.dlopen = D::kRequired;
    else if (*v == "recommended") r.rules.dlopen = D::kRecommended;
    else if (*v == "suggested") r.rules.dlopen = D::kSuggested;
    else c.Fail(rules.get("dlopen")->source(), "[rules] dlopen: \"required\", \"recommended\" or \"suggested\", got '" + *v + "'");
  }
  if (auto v = c.Bool(rules, "nss")) r.rules.nss = *v;
  if (const toml::node* n = rules.get("libgcc_s")) {
    using L = ClosureOptions::Libgcc;
    if (n->is_boolean())
      r.rules.libgcc_s = n->as_boolean()->get() ? L::kAlways : L::kNever;
    else if (n->is_string() && n->as_string()->get() == "auto")
      r.rules.libgcc_s = L::kAuto;
    else
      c.Fail(n->source(), c.Expect("libgcc_s", "true, false or \"auto\"", *n));
  }
  if (auto v = c.Bool(rules, "gconv")) r.rules.gconv = *v;
}

void ParseKernel(Checker& c, const toml::table& k, Recipe& r) {
  c.CheckKeys(k, "kernel", {"config", "features", "image", "modules", "cmdline", "format"});
  if (auto v = c.String(k, "config")) r.kernel.config = *v;
  r.kernel.features = c.StringArray(k, "features");
  if (auto v = c.String(k, "image")) r.kernel.image = *v;
  r.kernel.modules = c.StringArray(k, "modules");
  if (auto v = c.String(k, "cmdline")) r.kernel.cmdline = *v;
  // A tuned kernel is built from config + features; a prebuilt one is an image (+ modules).
  if (!r.kernel.image.empty() && (k.get("config") || k.get("features")))
    c.Fail(k.get(k.get("config") ? "config" : "features")->source(),
           "[kernel] takes either image (a prebuilt kernel) or config/features (a tuned one), "
           "not both");
  if (auto v = c.String(k, "format")) {
    if (*v != "vmlinux" && *v != "bzimage")
      c.Fail(k.get("format")->source(), "[kernel] format must be \"vmlinux\" or \"bzimage\", not \"" + *v + "\"");
    else if (!r.kernel.image.empty() && *v == "vmlinux")
      c.Fail(k.get("format")->source(),
             "format = \"vmlinux\" needs a tuned kernel: a prebuilt [kernel] image is stored as its bzImage");
    r.kernel.format = *v;
  }
  if (!r.kernel.image.empty()) r.kernel.format = "bzimage";
  if (k.get("modules") && r.kernel.image.empty())
    c.Fail(k.get("modules")->source(),
           "'modules' needs a prebuilt [kernel] image: tuned kernels have no module support "
           "(add a feature fragment instead)");
}

void ParseVm(Checker& c, const toml::table& vm, Recipe& r) {
  c.CheckKeys(vm, "vm", {"memory", "cpus"});
  if (const toml::node* n = vm.get("memory")) {
    std::optional<uint64_t> bytes;
    if (n->is_string()) {
      auto s = ParseSize(n->as_string()->get());
      if (s) bytes = *s;
      else c.Fail(n->source(), s.message());
    } else if (n->is_integer() && n->as_integer()->get() > 0) {
      bytes = static_cast<uint64_t>(n->as_integer()->get());
    } else {
      c.Fail(n->source(), c.Expect("memory", "a size like \"128M\"", *n));
    }
    if (bytes && (*bytes < (32ull << 20) || *bytes > (1ull << 40)))
      c.Fail(n->source(), "'memory' must be between 32M and 1T");
    else if (bytes) r.vm.memory = *bytes;
  }
  if (const toml::node* n = vm.get("cpus")) {
    if (!n->is_integer()) c.Fail(n->source(), c.Expect("cpus", "an integer", *n));
    else if (int64_t v = n->as_integer()->get(); v < 1 || v > 64)
      c.Fail(n->source(), "'cpus' must be between 1 and 64, got " + std::to_string(v));
    else r.vm.cpus = static_cast<int>(v);
  }
}

}  // namespace

Result<std::string> NormalizePort(std::string_view spec) {
  std::string_view s = spec, proto = "tcp";
  if (size_t slash = s.rfind('/'); slash != std::string_view::npos) {
    proto = s.substr(slash + 1);
    s = s.substr(0, slash);
    if (proto != "tcp" && proto != "udp")
      return Err("'", std::string(spec), "': unknown protocol '", std::string(proto),
                 "' (expected tcp or udp)");
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 1 || v > 65535)
    return Err("'", std::string(spec), "' is not a port number in 1..65535");
  return std::to_string(v) + "/" + std::string(proto);
}

Result<uint64_t> ParseSize(std::string_view text) {
  std::string_view s = text;
  uint64_t mult = 1;
  // "16MiB", "16MB" and "16M" all mean 16 << 20 (binary multiples, like the container tools).
  auto ends_with_ci = [&](std::string_view suffix) {
    if (s.size() <= suffix.size()) return false;
    for (size_t i = 0; i < suffix.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i])
        return false;
    return true;
  };
  if (ends_with_ci("ib") && s.size() > 2 && !std::isdigit(static_cast<unsigned char>(s[s.size() - 3])))
    s.remove_suffix(2);
  else if (ends_with_ci("b"))
    s.remove_suffix(1);
  if (!s.empty()) {
    switch (std::toupper(static_cast<unsigned char>(s.back()))) {
      case 'K': mult = 1ull << 10; break;
      case 'M': mult = 1ull << 20; break;
      case 'G': mult = 1ull << 30; break;
      case 'T': mult = 1ull << 40; break;
      default: mult = 0;
    }
    if (mult) s.remove_suffix(1);
    else mult = 1;
  }
  if (s.empty() || s.size() > 15 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Err("invalid size '", std::string(text), "' (expected a number with K, M, G or T, like \"128M\")");
  return std::stoull(std::string(s)) * mult;
}

Result<Recipe> ParseRecipe(std::string_view text, const std::filesystem::path& filename) {
  const std::string file = filename.string();
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return Err(file, ":", std::to_string(b.line), ":", std::to_string(b.column), ": ",
               std::string(e.description()));
  }
  Recipe r;
  r.file = filename;
  r.text_digest = Sha256Digest(text);
  Checker c(file);
  c.CheckKeys(root, "", {"name", "version", "app", "files", "rules", "kernel", "image", "verify", "trace", "vm"});
  if (auto v = c.String(root, "name")) {
    if (!ValidName(*v))
      c.Fail(root.get("name")->source(),
             "'name' must be 1-128 characters of a-z, 0-9, '.', '_' or '-', got '" + *v + "'");
    r.name = *v;
  } else if (!root.get("name")) {
    c.Fail(toml::source_region{{1, 1}, {1, 1}, nullptr}, "missing the required key 'name'");
  }
  if (auto v = c.String(root, "version")) r.version = *v;
  if (const toml::table* app = c.Section(root, "app")) ParseApp(c, *app, r);
  else if (!root.get("app"))
    c.Fail(toml::source_region{{1, 1}, {1, 1}, nullptr},
           "missing the required table [app] (with at least exec = \"/path/to/program\")");
  if (const toml::table* t = c.Section(root, "files")) ParseFiles(c, *t, r);
  if (const toml::table* t = c.Section(root, "rules")) ParseRules(c, *t, r);
  if (const toml::table* t = c.Section(root, "kernel")) ParseKernel(c, *t, r);
  if (const toml::table* t = c.Section(root, "image")) ParseImage(c, *t, r);
  if (const toml::table* t = c.Section(root, "verify")) ParseVerify(c, *t, r);
  if (const toml::table* t = c.Section(root, "trace")) ParseTrace(c, *t, r);
  if (const toml::table* t = c.Section(root, "vm")) ParseVm(c, *t, r);
  if (c.failed()) return c.ToError();
  return r;
}

std::filesystem::path RecipePath(const Recipe& recipe, const std::string& path) {
  std::filesystem::path p(path);
  return p.is_absolute() ? p : recipe.file.parent_path() / p;
}

Result<Recipe> LoadRecipe(const std::filesystem::path& path) {
  auto text = ReadFile(path);
  if (!text) return text.error();
  return ParseRecipe(*text, path);
}

}  // namespace arrow::builder
