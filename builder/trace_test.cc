// Traced-run tests: trace lines parsed (and rejected), traced paths merged into a closure
// (directories, symlinks, the ELF closure of what was found, Python's bytecode and landmarks,
// keep), the FDO dlopen notes acted on by the closure, and the shell exec warning.
#include "builder/trace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "builder/closure.h"

namespace arrow::builder {
namespace {

namespace fs = std::filesystem;

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arrow-trace-XXXXXX";
    d_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(d_); }
  std::string Write(const std::string& rel, const std::string& text, bool exec = false) {
    const std::string p = d_ + "/" + rel;
    fs::create_directories(fs::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << text;
    if (exec) fs::permissions(p, fs::perms::owner_all, fs::perm_options::add);
    return p;
  }
  // A shared library carrying an FDO dlopen note with `json`, as systemd's macros emit it.
  std::string NoteLib(const std::string& name, const std::string& json) {
    std::string esc;
    for (char c : json) esc += c == '"' ? std::string("\\\"") : std::string(1, c);
    const std::string src = Write("src/" + name + ".c",
        "__attribute__((used, section(\".note.dlopen\"), aligned(4))) static const struct {\n"
        "  unsigned n, d, t; char name[4]; char desc[" + std::to_string((json.size() + 4) / 4 * 4) + "];\n"
        "} note = {4, " + std::to_string(json.size() + 1) + ", 0x407c0c0a, \"FDO\", \"" + esc + "\"};\n"
        "int f(void) { return 1; }\n");
    const std::string out = d_ + "/" + name;
    const std::string cmd = "gcc -shared -fPIC -o " + out + " " + src + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return out;
  }
  static std::string Reason(const Closure& c, const std::string& p) {
    auto it = c.nodes().find(p);
    return it == c.nodes().end() ? "" : it->second.reason;
  }
  std::string d_;
};

std::string Lines(const std::vector<std::string>& paths, const std::string& end) {
  std::string s;
  for (const auto& p : paths) s += "arrow:trace " + p + "\t/usr/bin/app\n";
  return s + end + "\n";
}

TEST(TraceLines, ParsedWithEscapesAndCounted) {
  TraceLog log;
  ASSERT_TRUE(ParseTraceLines(Lines({"/a b", "/x\\x09y", "/etc"}, "arrow:trace-end 3"), "1/1", &log).ok());
  EXPECT_EQ(log.lines, 3u);
  EXPECT_EQ(log.touched.count("/a b"), 1u);
  EXPECT_EQ(log.touched.count("/x\ty"), 1u);
  EXPECT_EQ(log.touched.at("/etc"), "/usr/bin/app");
}

TEST(TraceLines, BrokenTracesAreErrorsNamingTheRun) {
  TraceLog log;
  EXPECT_EQ(ParseTraceLines(Lines({"/a"}, ""), "2/3", &log).message(),
            "traced run 2/3: the trace has no end mark (the VM stopped before arrow-init could report:"
            " the guest crashed, was killed or ran out of time)");
  EXPECT_EQ(ParseTraceLines("arrow:trace-error fanotify_init: ENOSYS (Function not implemented)\n", "1/1", &log).message(),
            "traced run 1/1: the trace recorder in the guest failed: fanotify_init: ENOSYS (Function not implemented)");
  EXPECT_EQ(ParseTraceLines(Lines({"/a", "/b"}, "arrow:trace-end 3"), "1/1", &log).message(),
            "traced run 1/1: the recorder reported 3 trace lines, 2 arrived (the control channel lost some)");
  for (const std::string bad : {"relative", "/a/../etc/shadow", "/a//b", "/a/", "/a\\x0", "/a\\xzz"})
    EXPECT_FALSE(ParseTraceLines(Lines({bad}, "arrow:trace-end 1"), "1/1", &log).ok()) << bad;
  EXPECT_FALSE(ParseTraceLines("garbage\narrow:trace-end 0\n", "1/1", &log).ok());
  EXPECT_FALSE(ParseTraceLines("arrow:trace-end 0\narrow:trace /a\t\n", "1/1", &log).ok());
  EXPECT_TRUE(log.touched.empty());  // nothing of a rejected trace is kept
}

TEST_F(TraceTest, MergeTakesTouchedCandidatesWithTheirClosure) {
  const std::string tree = d_ + "/app";
  Write("app/used.txt", "u");
  Write("app/unused.txt", "n");
  Write("app/sub/deep.txt", "d");
  Write("app/empty/keepme", "k");
  fs::create_directories(tree + "/listed");
  fs::create_symlink("used.txt", tree + "/alias.txt");
  fs::create_symlink("listed", tree + "/dirlink");
  fs::copy_file("/usr/bin/true", tree + "/tool");  // an ELF found by the trace: its libraries too
  Closure candidates({});
  candidates.Add(tree, "[files] include");
  ASSERT_TRUE(candidates.Finish().ok());
  Closure final({});
  TraceLog log;
  log.touched = {{tree + "/used.txt", "/bin/cat"}, {tree + "/listed", "/bin/ls"},
                 {tree + "/tool", "/bin/sh"}, {"/init", "/bin/sh"}, {tree + "/made-at-run-time", "/bin/sh"}};
  const TraceMerge m = AddTraced(final, candidates, log, {tree + "/empty"});
  ASSERT_TRUE(final.Finish().ok());
  EXPECT_EQ(m.touched, 5u);
  EXPECT_EQ(m.candidates, 3u);
  EXPECT_EQ(m.ignored, 2u);
  EXPECT_EQ(Reason(final, tree + "/used.txt"), "traced run (opened by /bin/cat)");
  EXPECT_EQ(final.nodes().at(tree + "/listed").kind, NodeKind::kDirectory);
  EXPECT_EQ(Reason(final, tree + "/alias.txt"), "symlink to " + tree + "/used.txt (traced run)");
  EXPECT_EQ(final.nodes().at(tree + "/dirlink").kind, NodeKind::kSymlink);
  EXPECT_EQ(Reason(final, tree + "/empty/keepme"), "[trace] keep");
  EXPECT_EQ(final.nodes().count(tree + "/unused.txt"), 0u);
  EXPECT_EQ(final.nodes().count(tree + "/sub/deep.txt"), 0u);
  EXPECT_EQ(final.nodes().count("/init"), 0u);
  bool libc = false;
  for (const auto& [p, n] : final.nodes()) libc |= p.ends_with("/libc.so.6") && n.reason.find("DT_NEEDED of " + tree + "/tool") == 0;
  EXPECT_TRUE(libc);
}

TEST_F(TraceTest, PythonBytecodeBringsItsSourceAndTheLandmarks) {
  const std::string lib = d_ + "/usr/lib/python3.11";
  Write("usr/lib/python3.11/os.py", "# landmark");
  Write("usr/lib/python3.11/json/__init__.py", "src");
  Write("usr/lib/python3.11/json/__pycache__/__init__.cpython-311.pyc", "pyc");
  Write("usr/lib/python3.11/lib-dynload/_x.so", "not an elf");
  Write("usr/lib/python3.11/unused.py", "x");
  Closure candidates({});
  candidates.Add(lib, "[files] include");
  ASSERT_TRUE(candidates.Finish().ok());
  Closure final({});
  TraceLog log;
  log.touched = {{lib + "/json/__pycache__/__init__.cpython-311.pyc", "/usr/bin/python3.11"}};
  AddTraced(final, candidates, log, {});
  ASSERT_TRUE(final.Finish().ok());
  EXPECT_EQ(Reason(final, lib + "/json/__init__.py"),
            "source of " + lib + "/json/__pycache__/__init__.cpython-311.pyc (traced run)");
  EXPECT_EQ(Reason(final, lib + "/os.py").rfind("Python landmark", 0), 0u);
  EXPECT_EQ(final.nodes().at(lib + "/lib-dynload").kind, NodeKind::kDirectory);
  EXPECT_EQ(final.nodes().count(lib + "/lib-dynload/_x.so"), 0u);
  EXPECT_EQ(final.nodes().count(lib + "/unused.py"), 0u);
}

TEST_F(TraceTest, MissingKeepPathFailsTheBuild) {
  Closure candidates({});
  Closure final({});
  AddTraced(final, candidates, TraceLog{}, {d_ + "/nope"});
  auto st = final.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), d_ + "/nope ([trace] keep): not found in /");
}

TEST_F(TraceTest, DlopenNotesPackByPriority) {
  const std::string lib = NoteLib("libnote.so",
      R"([{"feature":"zlib","priority":"recommended","soname":["libz.so.1"]},)"
      R"({"feature":"xml","priority":"suggested","soname":["libexpat.so.1"]},)"
      R"({"feature":"gone","priority":"recommended","soname":["libgone.so.7"]}])");
  Closure c({});
  c.Add(lib, "[files] include");
  ASSERT_TRUE(c.Finish().ok());
  bool zlib = false, expat = false;
  for (const auto& [p, n] : c.nodes()) {
    if (p.find("/libz.so.1") != std::string::npos && n.kind == NodeKind::kFile) {
      zlib = true;
      EXPECT_EQ(n.reason, "recommended dlopen dependency of " + lib + " (feature zlib), .note.dlopen");
    }
    expat |= p.find("libexpat") != std::string::npos;
  }
  EXPECT_TRUE(zlib);
  EXPECT_FALSE(expat);  // suggested: only with [rules] dlopen = "suggested"
  ASSERT_EQ(c.warnings().size(), 1u);
  EXPECT_EQ(c.warnings()[0], "libgone.so.7 (recommended dlopen dependency of " + lib + " (feature gone)): not found, not packed");

  ClosureOptions o;
  o.rule_dlopen = ClosureOptions::Dlopen::kSuggested;
  Closure s(o);
  s.Add(lib, "[files] include");
  ASSERT_TRUE(s.Finish().ok());
  expat = false;
  for (const auto& [p, n] : s.nodes()) expat |= p.find("libexpat.so.1") != std::string::npos;
  EXPECT_TRUE(expat);

  o.rule_dlopen = ClosureOptions::Dlopen::kRequired;
  Closure r(o);
  r.Add(lib, "[files] include");
  ASSERT_TRUE(r.Finish().ok());
  for (const auto& [p, n] : r.nodes()) EXPECT_EQ(p.find("/libz.so"), std::string::npos) << p;
}

TEST_F(TraceTest, MissingRequiredDlopenDependencyIsAnError) {
  const std::string lib = NoteLib("libreq.so", R"([{"feature":"tpm","priority":"required","soname":["libtss9.so.0","libtss8.so.0"]}])");
  Closure c({});
  c.Add(lib, "[files] include");
  auto st = c.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "libtss9.so.0 or libtss8.so.0 (required dlopen dependency of " + lib +
                              " (feature tpm)): not found in /");
}

TEST_F(TraceTest, ShellWrapperExecIsFollowedOrNamed) {
  const std::string wrap = Write("bin/wrap", "#!/bin/sh\nset -e\nexec \"$0.bin\" \"$@\"\n", true);
  Closure c({});
  c.AddEntrypoint(wrap, "entrypoint");
  ASSERT_TRUE(c.Finish().ok());
  ASSERT_EQ(c.warnings().size(), 1u);
  EXPECT_EQ(c.warnings()[0], wrap + ": `exec $0.bin` runs a program named at run time, which the static "
                             "closure cannot follow (build with --trace, or name the program in [files] include)");
  const std::string lit = Write("bin/lit", "#!/bin/sh\n[ -n \"$X\" ] && exec /usr/bin/true\nexec " + d_ + "/missing\n", true);
  Closure l({});
  l.AddEntrypoint(lit, "entrypoint");
  ASSERT_TRUE(l.Finish().ok());
  EXPECT_EQ(Reason(l, "/usr/bin/true"), "exec'd by " + lit);
  ASSERT_EQ(l.warnings().size(), 1u);
  EXPECT_EQ(l.warnings()[0], lit + ": `exec " + d_ + "/missing`: " + d_ + "/missing is not in /");
}

}  // namespace
}  // namespace arrow::builder
