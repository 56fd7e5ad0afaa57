// Trace lines in, a traced closure out; see trace.h.
#include "builder/trace.h"

#include <regex>
#include <set>
#include <vector>

namespace arrow::builder {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "\xHH" escapes back to bytes; nullopt for a broken escape or a raw control byte.
std::optional<std::string> Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return std::nullopt;
    if (c != '\\') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (i + 3 >= s.size() || s[i + 1] != 'x' || Hex(s[i + 2]) < 0 || Hex(s[i + 3]) < 0) return std::nullopt;
    out.push_back(static_cast<char>(Hex(s[i + 2]) * 16 + Hex(s[i + 3])));
    i += 3;
  }
  return out;
}

// Absolute and normalized: no empty, "." or ".." components, no trailing slash, no NUL.
bool Normalized(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.size() > 4096 || p.find('\0') != std::string::npos) return false;
  if (p == "/") return true;
  if (p.back() == '/') return false;
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    const std::string_view part(p.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// "/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc" -> ".../json/decoder.py":
// Python reads the bytecode and only stat()s the source, which fanotify does not see, yet
// without the source the import system does not find the module at all.
std::optional<std::string> PythonSourceOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || !path.ends_with(".pyc")) return std::nullopt;
  const std::string dir = path.substr(0, slash);
  if (!dir.ends_with("/__pycache__")) return std::nullopt;
  const std::string file = path.substr(slash + 1);
  const size_t dot = file.find('.');
  if (dot == 0 || dot == std::string::npos) return std::nullopt;
  return dir.substr(0, dir.size() - 12) + "/" + file.substr(0, dot) + ".py";
}

// "/usr/lib/python3.11/json/decoder.py" -> "/usr/lib/python3.11": a Python standard library
// the app used. At start-up Python stat()s its landmarks there (os.py for sys.prefix,
// lib-dynload for sys.exec_prefix), again unseen by fanotify; without them it prints "Could not
// find platform independent libraries" and guesses its paths.
std::optional<std::string> PythonLibOf(const std::string& path) {
  static const std::regex kLib("^(/.*/lib/python3\\.[0-9]+)/.*");
  std::smatch m;
  if (!std::regex_match(path, m, kLib)) return std::nullopt;
  return m[1].str();
}

}  // namespace

Status ParseTraceLines(std::string_view text, std::string_view run, TraceLog* log) {
  const std::string where = "traced run " + std::string(run);
  uint64_t lines = 0;
  bool ended = false;
  std::map<std::string, std::string> touched;  // merged into the log only if all of it is good
  size_t start = 0, line_no = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    line_no++;
    if (line.empty()) continue;
    if (ended) return Err(where, ": trace line ", std::to_string(line_no), " after the end mark");
    if (line.starts_with("arrow:trace-error ")) {
      return Err(where, ": the trace recorder in the guest failed: ", line.substr(18));
    }
    if (line.starts_with("arrow:trace-end ")) {
      const std::string n(line.substr(16));
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 12 ||
          std::stoull(n) != lines)
        return Err(where, ": the recorder reported ", n, " trace lines, ", std::to_string(lines),
                   " arrived (the control channel lost some)");
      ended = true;
      continue;
    }
    if (!line.starts_with("arrow:trace ")) return Err(where, ": trace line ", std::to_string(line_no), " is not a trace record");
    if (++lines > kMaxTraceLines) return Err(where, ": more than ", std::to_string(kMaxTraceLines), " trace lines");
    const std::string_view rec = line.substr(12);
    const size_t tab = rec.find('\t');
    auto path = Unescape(rec.substr(0, tab));
    auto exe = Unescape(tab == std::string_view::npos ? "" : rec.substr(tab + 1));
    if (!path || !exe || !Normalized(*path))
      return Err(where, ": trace line ", std::to_string(line_no), " does not name an absolute, normalized path");
    touched.emplace(*path, exe->empty() ? "an exited process" : *exe);
  }
  if (!ended)
    return Err(where, ": the trace has no end mark (the VM stopped before arrow-init could report:"
                      " the guest crashed, was killed or ran out of time)");
  log->lines += lines;
  log->touched.merge(touched);
  return Ok{};
}

TraceMerge AddTraced(Closure& final, Closure& candidates, const TraceLog& log,
                     const std::vector<std::string>& keep) {
  TraceMerge m;
  const auto& cand = candidates.nodes();
  std::set<std::string> python_libs;
  for (const auto& [path, exe] : log.touched) {
    m.touched++;
    auto it = cand.find(path);
    if (it == cand.end()) {
      m.ignored++;
      continue;
    }
    m.candidates++;
    if (auto lib = PythonLibOf(path)) python_libs.insert(*lib);
    if (final.nodes().count(path)) continue;  // static already ([files] map files are not in the root)
    const std::string reason = "traced run (opened by " + exe + ")";
    if (it->second.kind == NodeKind::kDirectory) {
      final.AddDirectory(path, reason);
    } else if (it->second.kind == NodeKind::kFile) {
      final.Add(path, reason);
      if (auto src = PythonSourceOf(path); src && cand.count(*src))
        final.Add(*src, "source of " + path + " (traced run)");
    }
  }
  for (const auto& lib : python_libs) {
    const std::string why = " (Python stat()s it at start-up to find its paths; the trace used " + lib + ")";
    if (cand.count(lib + "/os.py")) final.Add(lib + "/os.py", "Python landmark" + why);
    if (cand.count(lib + "/lib-dynload")) final.AddDirectory(lib + "/lib-dynload", "Python landmark" + why);
  }
  for (const auto& k : keep) final.Add(k, "[trace] keep");
  // Candidate symlinks that lead to something packed (a soname link of a traced library, a
  // link to a traced directory): fanotify reports real paths only, the app may use the links.
  for (const auto& [path, node] : cand) {
    if (node.kind != NodeKind::kSymlink || final.nodes().count(path)) continue;
    const std::string real = candidates.RealPath(path);
    auto t = final.nodes().find(real);
    if (real.empty() || t == final.nodes().end()) continue;
    // The link's node reads "symlink to <real> (traced run)".
    if (t->second.kind == NodeKind::kDirectory) final.AddDirectory(path, "traced run");
    else final.Add(path, "traced run");
  }
  return m;
}

}  // namespace arrow::builder
