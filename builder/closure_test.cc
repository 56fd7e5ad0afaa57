// Closure tests: each compiles tiny C programs and libraries with gcc into a temp dir and
// asserts one ld.so rule (RPATH inheritance, RUNPATH scope, $ORIGIN, LD_LIBRARY_PATH order,
// wrong-class skipping, sonames), symlink recreation, scripts, rules, and a --sysroot root.
#include "builder/closure.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "builder/ldcache.h"

namespace arrow::builder {
namespace {

namespace fs = std::filesystem;

class ClosureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arrow-closure-XXXXXX";
    d_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(d_); }
  std::string Write(const std::string& rel, const std::string& text) {
    std::string p = d_ + "/" + rel;
    fs::create_directories(fs::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // A program file: the kernel (and so the closure) only honours "#!" on executable files.
  std::string WriteExec(const std::string& rel, const std::string& text) {
    std::string p = Write(rel, text);
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec,
                    fs::perm_options::replace);
    return p;
  }
  // Compiles `src` into d_/out; `flags` may use $D for d_.
  void Cc(const std::string& out, const std::string& src, std::string flags) {
    std::string c = Write("src/" + fs::path(out).filename().string() + ".c", src);
    for (size_t p; (p = flags.find("$D")) != std::string::npos;) flags.replace(p, 2, d_);
    fs::create_directories(fs::path(d_ + "/" + out).parent_path());
    std::string cmd = "gcc -o '" + d_ + "/" + out + "' " + c + " " + flags + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void Lib(const std::string& out, const std::string& fn, const std::string& flags = "") {
    Cc(out, "int " + fn + "(void){return 1;}", "-shared -fPIC " + flags);
  }
  std::vector<std::string> Loaded(Closure& c, const std::string& p) {
    auto r = c.Resolve(p);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? r->loaded : std::vector<std::string>{};
  }
  static bool Has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }
  std::string d_;
};

constexpr const char* kMain = "int mid(void); int main(void){return mid();}";
constexpr const char* kMid = "int deep(void); int mid(void){return deep();}";

// exe (RPATH $D/m:$D/d) -> libmid (no paths) -> libdeep: found through the exe's RPATH.
TEST_F(ClosureTest, RpathIsInheritedAlongTheLoaderChain) {
  Lib("d/libdeep.so", "deep");
  Cc("m/libmid.so", kMid, "-shared -fPIC -L$D/d -ldeep");
  Cc("exe", kMain, "-L$D/m -lmid -Wl,--disable-new-dtags -Wl,-rpath,$D/m:$D/d");
  Closure c({});
  auto l = Loaded(c, d_ + "/exe");
  EXPECT_TRUE(Has(l, d_ + "/m/libmid.so"));
  EXPECT_TRUE(Has(l, d_ + "/d/libdeep.so"));
  EXPECT_TRUE(Has(l, "/lib64/ld-linux-x86-64.so.2"));
  EXPECT_TRUE(Has(l, "/lib/x86_64-linux-gnu/libc.so.6"));
}

TEST_F(ClosureTest, RunpathIsNotInheritedAndAllMissingAreReported) {
  Lib("d/libdeep.so", "deep");
  Cc("m/libmid.so", kMid, "-shared -fPIC -L$D/d -ldeep");
  Cc("exe", kMain, "-L$D/m -lmid -Wl,--enable-new-dtags -Wl,-rpath,$D/m:$D/d");
  Closure c({});
  auto r = c.Resolve(d_ + "/exe");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->missing, std::vector<std::string>{"libdeep.so"});
  c.Add(d_ + "/exe", "entrypoint");
  auto st = c.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "libdeep.so (needed by " + d_ +
                              "/m/libmid.so): not found in /etc/ld.so.cache; default dirs "
                              "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:/usr/lib");
}

// libmid has a DT_RUNPATH (of an empty dir): the exe's DT_RPATH is no longer consulted for it.
TEST_F(ClosureTest, RunpathOfTheLoaderDisablesRpathChain) {
  Lib("d/libdeep.so", "deep");
  fs::create_directories(d_ + "/empty");
  Cc("m/libmid.so", kMid, "-shared -fPIC -L$D/d -ldeep -Wl,--enable-new-dtags -Wl,-rpath,$D/empty");
  Cc("exe", kMain, "-L$D/m -lmid -Wl,--disable-new-dtags -Wl,-rpath,$D/m:$D/d");
  Closure c({});
  auto r = c.Resolve(d_ + "/exe");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->missing, std::vector<std::string>{"libdeep.so"});
}

TEST_F(ClosureTest, OriginBothForms) {
  Lib("lib/libdeep.so", "deep");
  Cc("lib2/libmid.so", kMid, "-shared -fPIC -L$D/lib -ldeep -Wl,-rpath,'${ORIGIN}/../lib'");
  Cc("bin/exe", kMain, "-L$D/lib2 -lmid -Wl,-rpath,'$ORIGIN/../lib2'");
  Closure c({});
  auto l = Loaded(c, d_ + "/bin/exe");
  EXPECT_TRUE(Has(l, d_ + "/bin/../lib2/libmid.so"));
  // l_name of libmid keeps "bin/../lib2", so its $ORIGIN does too (ld.so never canonicalizes).
  EXPECT_TRUE(Has(l, d_ + "/bin/../lib2/../lib/libdeep.so"));
}

TEST_F(ClosureTest, LibAndPlatformTokens) {
  Lib("p/x86_64/libdeep.so", "deep");
  Lib("l/lib/x86_64-linux-gnu/libmid2.so", "mid2");
  Cc("exe", "int deep(void); int mid2(void); int main(void){return deep()+mid2();}",
     "-L$D/p/x86_64 -L$D/l/lib/x86_64-linux-gnu -ldeep -lmid2 "
     "-Wl,-rpath,'$D/p/$PLATFORM:$D/l/${LIB}'");
  Closure c({});
  auto l = Loaded(c, d_ + "/exe");
  EXPECT_TRUE(Has(l, d_ + "/p/x86_64/libdeep.so"));
  EXPECT_TRUE(Has(l, d_ + "/l/lib/x86_64-linux-gnu/libmid2.so"));
}

// glibc-hwcaps subdirectories are tried in RPATH/RUNPATH dirs too, best supported level first.
TEST_F(ClosureTest, HwcapsSubdirsInRunpathDirs) {
  Lib("d/libdeep.so", "deep");
  Lib("d/glibc-hwcaps/x86-64-v2/libdeep.so", "deep");
  Cc("exe", "int deep(void); int main(void){return deep();}", "-L$D/d -ldeep -Wl,-rpath,$D/d");
  Closure c({});
  auto l = Loaded(c, d_ + "/exe");
  if (HostX86Level() >= 2) {
    EXPECT_TRUE(Has(l, d_ + "/d/glibc-hwcaps/x86-64-v2/libdeep.so"));
  } else {
    EXPECT_TRUE(Has(l, d_ + "/d/libdeep.so"));
  }
}

// A NEEDED with a '/' is opened as a path: relative ones against the cwd, "/" in the guest.
TEST_F(ClosureTest, NeededWithSlashIsAPath) {
  Lib("d/libdeep.so", "deep");
  Cc("exe", "int deep(void); int main(void){return deep();}", "$D/d/libdeep.so");
  Closure c({});
  EXPECT_TRUE(Has(Loaded(c, d_ + "/exe"), d_ + "/d/libdeep.so"));
}

TEST_F(ClosureTest, LibgccRuleAndMissingEntrypoint) {
  Cc("exe", "int main(void){return 0;}", "");
  ClosureOptions o;
  o.rule_libgcc_s = ClosureOptions::Libgcc::kAlways;
  Closure c(o);
  c.Add(d_ + "/exe", "entrypoint");
  c.Add(d_ + "/nope", "entrypoint");
  auto st = c.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), d_ + "/nope (entrypoint): not found in /");
  ASSERT_TRUE(c.nodes().count("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"));
  EXPECT_EQ(c.nodes().at("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1").reason,
            "rule: libgcc_s (dlopen()ed by glibc for unwinding)");
  EXPECT_TRUE(c.nodes().count("/lib")) << "usr-merge symlink met on the way";
}

// The default packs libgcc_s only when something in the image makes glibc dlopen() it: a
// program that never cancels, exits a thread or takes a backtrace runs without it.
TEST_F(ClosureTest, LibgccAutoFollowsImports) {
  const std::string gcc = "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1";
  Cc("plain", "int main(void){return 0;}", "");
  Cc("cancels", "#include <pthread.h>\nint main(void){return pthread_cancel(pthread_self());}", "");
  Cc("lib/libbt.so", "#include <execinfo.h>\nint bt(void){void* a[4]; return backtrace(a, 4);}",
     "-shared -fPIC");
  Cc("viabt", "int bt(void); int main(void){return bt();}", "-L$D/lib -lbt -Wl,-rpath,$D/lib");
  {
    Closure c({});
    c.AddEntrypoint(d_ + "/plain", "entrypoint");
    ASSERT_TRUE(c.Finish().ok());
    EXPECT_FALSE(c.nodes().count(gcc));
  }
  {
    Closure c({});
    c.AddEntrypoint(d_ + "/cancels", "entrypoint");
    ASSERT_TRUE(c.Finish().ok());
    ASSERT_TRUE(c.nodes().count(gcc));
    EXPECT_EQ(c.nodes().at(gcc).reason, "rule: libgcc_s (" + d_ +
                                            "/cancels imports pthread_cancel, which makes glibc "
                                            "dlopen() it)");
  }
  {
    Closure c({});  // the import sits in a library, not in the program
    c.AddEntrypoint(d_ + "/viabt", "entrypoint");
    ASSERT_TRUE(c.Finish().ok());
    ASSERT_TRUE(c.nodes().count(gcc));
    EXPECT_EQ(c.nodes().at(gcc).reason, "rule: libgcc_s (" + d_ +
                                            "/lib/libbt.so imports backtrace, which makes glibc "
                                            "dlopen() it)");
  }
  {
    ClosureOptions o;
    o.rule_libgcc_s = ClosureOptions::Libgcc::kNever;
    Closure c(o);
    c.AddEntrypoint(d_ + "/cancels", "entrypoint");
    ASSERT_TRUE(c.Finish().ok());
    EXPECT_FALSE(c.nodes().count(gcc));
  }
}

// Whether the tuned kernel needs IPv4: some packed ELF imports socket (itself or in a library it
// loads), or is static and so may make the call itself. libc defines socket: it never counts.
TEST_F(ClosureTest, Ipv4UserFollowsSocketImports) {
  Cc("plain", "#include <stdio.h>\nint main(void){return puts(\"hi\");}", "");
  Cc("lib/libnet.so", "#include <sys/socket.h>\nint net(void){return socket(AF_INET, SOCK_DGRAM, 0);}",
     "-shared -fPIC");
  Cc("vianet", "int net(void); int main(void){return net();}", "-L$D/lib -lnet -Wl,-rpath,$D/lib");
  Cc("unix", "#include <sys/socket.h>\nint main(void){int v[2]; return socketpair(AF_UNIX, SOCK_STREAM, 0, v);}", "");
  Cc("static", "int main(void){return 0;}", "-static");
  Cc("static-pie", "int main(void){return 0;}", "-static-pie");
  auto user = [&](const std::string& exe) {
    Closure c({});
    c.AddEntrypoint(d_ + "/" + exe, "entrypoint");
    EXPECT_TRUE(c.Finish().ok()) << exe;
    return c.Ipv4User();
  };
  EXPECT_EQ(user("plain"), std::nullopt);
  EXPECT_EQ(user("unix"), std::nullopt);  // socketpair: AF_UNIX only, no IPv4 needed
  EXPECT_EQ(user("vianet"), d_ + "/lib/libnet.so imports socket");
  EXPECT_EQ(user("static"), d_ + "/static is statically linked");
  EXPECT_EQ(user("static-pie"), d_ + "/static-pie is statically linked");
  {
    Closure c({});  // any packed program counts, not only the entrypoint
    c.AddEntrypoint(d_ + "/plain", "entrypoint");
    c.Add(d_ + "/vianet", "[files]");
    ASSERT_TRUE(c.Finish().ok());
    EXPECT_EQ(c.Ipv4User(), d_ + "/lib/libnet.so imports socket");
  }
}

// A [files] mapping: the host file is traced with $ORIGIN taken from its guest path.
TEST_F(ClosureTest, MappedFileResolvesInTheRoot) {
  Lib("r/app/lib/libdeep.so", "deep");
  fs::create_directories(d_ + "/r/app/bin");  // "$ORIGIN/.." needs the guest dir in the root
  Cc("host/exe", "int deep(void); int main(void){return deep();}",
     "-L$D/r/app/lib -ldeep -Wl,-rpath,'$ORIGIN/../lib'");
  ClosureOptions o;
  o.root = d_ + "/r";
  o.rule_nss = false;
  o.rule_libgcc_s = ClosureOptions::Libgcc::kNever;
  Closure c(o);
  c.AddMapped("/app/bin/exe", d_ + "/host/exe", "[files]");
  auto st = c.Finish();
  ASSERT_FALSE(st.ok());  // the root has neither libc nor ld.so: reported, not taken from the host
  EXPECT_EQ(c.nodes().at("/app/bin/exe").source, d_ + "/host/exe");
  EXPECT_EQ(c.nodes().at("/app/lib/libdeep.so").reason, "DT_NEEDED of /app/bin/exe");
  EXPECT_EQ(st.message(),
            "/lib64/ld-linux-x86-64.so.2 (needed by /app/bin/exe): not found in PT_INTERP path\n"
            "libc.so.6 (needed by /app/bin/exe): not found in RUNPATH /app/bin/../lib; "
            "default dirs /lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:/usr/lib");
}

TEST_F(ClosureTest, GconvRuleIsOptIn) {
  Cc("exe", "int main(void){return 0;}", "");
  ClosureOptions o;
  o.rule_gconv = true;
  o.exclude = {"*/gconv/[A-H]*"};
  Closure c(o);
  c.Add(d_ + "/exe", "entrypoint");
  ASSERT_TRUE(c.Finish().ok());
  EXPECT_TRUE(c.nodes().count("/usr/lib/x86_64-linux-gnu/gconv/gconv-modules"));
  EXPECT_TRUE(c.nodes().count("/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so"));
  EXPECT_FALSE(c.nodes().count("/usr/lib/x86_64-linux-gnu/gconv/ARMSCII-8.so"));
  Closure off({});
  off.Add(d_ + "/exe", "entrypoint");
  ASSERT_TRUE(off.Finish().ok());
  EXPECT_FALSE(off.nodes().count("/usr/lib/x86_64-linux-gnu/gconv/gconv-modules"));
}

TEST_F(ClosureTest, LdLibraryPathOrderAndPrecedenceOverRunpath) {
  Lib("a/libdeep.so", "deep");
  Lib("b/libdeep.so", "deep");
  Lib("c/libdeep.so", "deep");
  Cc("exe", "int deep(void); int main(void){return deep();}",
     "-L$D/a -ldeep -Wl,--enable-new-dtags -Wl,-rpath,$D/c");
  ClosureOptions o;
  o.ld_library_path = {d_ + "/b", d_ + "/a"};
  Closure c(o);
  EXPECT_TRUE(Has(Loaded(c, d_ + "/exe"), d_ + "/b/libdeep.so"));
  Closure plain({});
  EXPECT_TRUE(Has(Loaded(plain, d_ + "/exe"), d_ + "/c/libdeep.so"));
}

// A copy patched to another machine, then to another class, sits first on the path: skipped.
TEST_F(ClosureTest, WrongMachineOrClassIsSkipped) {
  Lib("good/libdeep.so", "deep");
  Lib("bad/libdeep.so", "deep");
  Cc("exe", "int deep(void); int main(void){return deep();}",
     "-L$D/good -ldeep -Wl,--disable-new-dtags -Wl,-rpath,$D/bad:$D/good");
  for (auto [off, byte] :
       {std::pair{18, char(183)}, std::pair{4, char(1)}}) {  // EM_AARCH64, ELFCLASS32
    fs::copy_file(d_ + "/good/libdeep.so", d_ + "/bad/libdeep.so",
                  fs::copy_options::overwrite_existing);
    std::fstream f(d_ + "/bad/libdeep.so", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(off);
    f.put(byte);
    f.close();
    Closure c({});
    auto l = Loaded(c, d_ + "/exe");
    EXPECT_TRUE(Has(l, d_ + "/good/libdeep.so")) << off;
    EXPECT_FALSE(Has(l, d_ + "/bad/libdeep.so")) << off;
  }
}

// libmid NEEDs "libalias.so", which no file is called, but the loaded libdeep has that SONAME.
TEST_F(ClosureTest, LoadedSonameSatisfiesLaterNeeded) {
  Lib("stub1/libdeep.so", "deep", "-Wl,-soname,libdeep.so");    // link-time: NEEDED libdeep.so
  Lib("stub2/libalias.so", "deep", "-Wl,-soname,libalias.so");  // link-time: NEEDED libalias.so
  Lib("d/libdeep.so", "deep", "-Wl,-soname,libalias.so");       // run time
  Cc("d/libmid.so", kMid, "-shared -fPIC -L$D/stub2 -lalias");
  Cc("exe", "int mid(void); int deep(void); int main(void){return mid()+deep();}",
     "-L$D/stub1 -L$D/d -ldeep -lmid -Wl,-rpath,$D/d");
  Closure c({});
  auto r = c.Resolve(d_ + "/exe");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->missing.empty()) << r->missing.front();
}

TEST_F(ClosureTest, SymlinkChainsAreRecreated) {
  Cc("r/usr/lib/libdeep.so.1.0", "#include <stdio.h>\nint deep(void){return puts(\"\");}",
     "-shared -fPIC -Wl,-soname,libdeep.so.1");
  fs::create_directory_symlink("usr/lib", d_ + "/r/lib");
  fs::create_symlink("libdeep.so.1.0", d_ + "/r/usr/lib/libdeep.so.1");
  fs::create_symlink("/lib/libdeep.so.1", d_ + "/r/usr/lib/libdeep.so");
  ClosureOptions o;
  o.root = d_ + "/r";
  Closure c(o);
  c.Add("/usr/lib/libdeep.so", "test");
  const auto& n = c.nodes();
  ASSERT_TRUE(n.count("/usr/lib/libdeep.so"));
  EXPECT_EQ(n.at("/usr/lib/libdeep.so").kind, NodeKind::kSymlink);
  EXPECT_EQ(n.at("/usr/lib/libdeep.so").link_target, "/lib/libdeep.so.1");
  ASSERT_TRUE(n.count("/lib"));
  EXPECT_EQ(n.at("/lib").link_target, "usr/lib");
  ASSERT_TRUE(n.count("/usr/lib/libdeep.so.1"));
  EXPECT_EQ(n.at("/usr/lib/libdeep.so.1").kind, NodeKind::kSymlink);
  ASSERT_TRUE(n.count("/usr/lib/libdeep.so.1.0"));
  EXPECT_EQ(n.at("/usr/lib/libdeep.so.1.0").kind, NodeKind::kFile);
  EXPECT_EQ(n.at("/usr/lib/libdeep.so.1.0").source, d_ + "/r/usr/lib/libdeep.so.1.0");
  // The root has no libc: its NEEDED is reported, not taken from the host.
  auto st = c.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("libc.so.6 (needed by /usr/lib/libdeep.so.1.0): not found in", 0),
            0u)
      << st.message();
}

TEST_F(ClosureTest, SymlinkLoopIsNotFound) {
  fs::create_directories(d_ + "/r");
  fs::create_symlink("b", d_ + "/r/a");
  fs::create_symlink("a", d_ + "/r/b");
  ClosureOptions o;
  o.root = d_ + "/r";
  Closure c(o);
  c.Add("/a", "entrypoint");
  auto st = c.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "/a (entrypoint): not found in " + d_ + "/r");
}

TEST_F(ClosureTest, ScriptsAndEnvAreTracedRecursively) {
  WriteExec("r/app/run", "#!/usr/bin/env -S mytool --flag\n");
  WriteExec("r/usr/local/bin/mytool", "#!/bin/sh -e\nexit 0\n");
  Write("r/usr/bin/env", "not really env");
  Write("r/usr/bin/sh", "not really sh");
  fs::create_directory_symlink("usr/bin", d_ + "/r/bin");
  ClosureOptions o;
  o.root = d_ + "/r";
  Closure c(o);
  c.Add("/app/run", "entrypoint");
  EXPECT_TRUE(c.Finish().ok());
  const auto& n = c.nodes();
  for (const char* p : {"/app/run", "/usr/bin/env", "/usr/local/bin/mytool", "/bin", "/usr/bin/sh"})
    EXPECT_TRUE(n.count(p)) << p;
  EXPECT_EQ(n.at("/usr/local/bin/mytool").reason, "#! interpreter of /app/run (via env and PATH)");
  EXPECT_EQ(n.at("/usr/bin/sh").reason, "#! interpreter of /usr/local/bin/mytool");
}

TEST_F(ClosureTest, NonExecutableHashBangFileIsData) {
  Write("r/lib/Module.pm", "#!perl -w\n1;\n");
  ClosureOptions o;
  o.root = d_ + "/r";
  Closure c(o);
  c.Add("/lib", "[files] include");
  EXPECT_TRUE(c.Finish().ok());
  EXPECT_TRUE(c.nodes().count("/lib/Module.pm"));
  EXPECT_TRUE(c.warnings().empty());
}

TEST_F(ClosureTest, BrokenScriptInIncludeTreeIsAWarning) {
  WriteExec("r/lib/tool.py", "#! /usr/local/bin/python\n");
  ClosureOptions o;
  o.root = d_ + "/r";
  Closure c(o);
  c.Add("/lib", "[files] include");
  EXPECT_TRUE(c.Finish().ok());
  ASSERT_EQ(c.warnings().size(), 1u);
  EXPECT_EQ(c.warnings()[0], "/usr/local/bin/python (#! interpreter of /lib/tool.py): not found in " +
                                 d_ + "/r");
}

TEST_F(ClosureTest, EntrypointMustBeAnExecutableProgram) {
  Write("r/data.txt", "hello\n");
  WriteExec("r/notelf", "hello\n");
  Write("r/script", "#!/bin/sh\n");
  fs::create_directories(d_ + "/r/dir");
  ClosureOptions o;
  o.root = d_ + "/r";
  Closure c(o);
  c.AddEntrypoint("/notelf", "entrypoint");
  c.AddEntrypoint("/script", "entrypoint");
  c.AddEntrypoint("/dir", "entrypoint");
  c.AddEntrypoint("/nosuch", "entrypoint");
  c.AddMappedEntrypoint("/app", d_ + "/missing-host-file", "entrypoint ([files] map)");
  auto st = c.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "/notelf (entrypoint): not an ELF executable or a #! script\n"
            "/script (entrypoint): not executable (no x permission bit)\n"
            "/dir (entrypoint): is a directory, not a program\n"
            "/nosuch (entrypoint): not found in " + d_ + "/r\n"
            "/app (entrypoint ([files] map)): host file " + d_ +
                "/missing-host-file not found or not a regular file");
}

TEST_F(ClosureTest, SymlinkInIncludeTreeBringsItsTarget) {
  Write("r/etc/site.py", "x = 1\n");
  Write("r/usr/lib/py/os.py", "\n");
  fs::create_symlink("../../../etc/site.py", d_ + "/r/usr/lib/py/site.py");
  fs::create_symlink("nowhere", d_ + "/r/usr/lib/py/dangling");
  fs::create_symlink(".", d_ + "/r/usr/lib/py/self");
  ClosureOptions o;
  o.root = d_ + "/r";
  Closure c(o);
  c.Add("/usr/lib/py", "[files] include");
  ASSERT_TRUE(c.Finish().ok());
  const auto& n = c.nodes();
  ASSERT_TRUE(n.count("/usr/lib/py/site.py"));
  EXPECT_EQ(n.at("/usr/lib/py/site.py").kind, NodeKind::kSymlink);
  EXPECT_EQ(n.at("/usr/lib/py/site.py").link_target, "../../../etc/site.py");
  EXPECT_TRUE(n.count("/etc/site.py"));
  EXPECT_TRUE(n.count("/usr/lib/py/dangling"));
  EXPECT_TRUE(n.count("/usr/lib/py/self"));
}

TEST_F(ClosureTest, EnvProgramMissingIsReported) {
  WriteExec("r/app/run", "#!/usr/bin/env nosuch\n");
  Write("r/usr/bin/env", "x");
  ClosureOptions o;
  o.root = d_ + "/r";
  o.path = {"/usr/bin"};
  Closure c(o);
  c.Add("/app/run", "entrypoint");
  auto st = c.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "nosuch (#!/usr/bin/env of /app/run): not found in PATH /usr/bin");
}

// A --sysroot assembled by the test: the program, its libraries, an ld.so.conf dir, an NSS
// module; first without ld.so.cache (ld.so.conf fallback), then with `ldconfig -r`.
TEST_F(ClosureTest, SysrootWithAndWithoutCache) {
  const std::string r = d_ + "/root";
  Lib("root/opt/vendor/lib/libdeep.so", "deep");
  Cc("root/usr/bin/app", "int deep(void); int main(void){return deep();}",
     "-L$D/root/opt/vendor/lib -ldeep");
  Lib("root/usr/lib/x86_64-linux-gnu/libnss_mymod.so.2", "nss");
  fs::create_directories(r + "/usr/lib/x86_64-linux-gnu");
  for (const char* lib : {"libc.so.6", "ld-linux-x86-64.so.2"})
    fs::copy_file(fs::canonical(std::string("/lib/x86_64-linux-gnu/") + lib),
                  r + "/usr/lib/x86_64-linux-gnu/" + lib);
  fs::create_directory_symlink("usr/lib", r + "/lib");
  fs::create_directory_symlink("usr/lib", r + "/lib64");
  fs::create_symlink("x86_64-linux-gnu/ld-linux-x86-64.so.2", r + "/usr/lib/ld-linux-x86-64.so.2");
  Write("root/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
  Write("root/etc/ld.so.conf.d/vendor.conf", "# vendor\n/opt/vendor/lib\n");
  Write("root/etc/nsswitch.conf",
        "passwd: files mymod [NOTFOUND=return] absent\nhosts: files dns\n");
  EXPECT_EQ(ReadLdSoConf(r), std::vector<std::string>{"/opt/vendor/lib"});
  for (int with_cache = 0; with_cache < 2; ++with_cache) {
    if (with_cache) {
      ASSERT_EQ(std::system(("ldconfig -r " + r + " 2>/dev/null").c_str()), 0);
    }
    ClosureOptions o;
    o.root = r;
    Closure c(o);
    c.Add("/usr/bin/app", "entrypoint");
    auto st = c.Finish();
    EXPECT_TRUE(st.ok()) << st.message();
    const auto& n = c.nodes();
    for (const char* p :
         {"/usr/bin/app", "/opt/vendor/lib/libdeep.so", "/lib64", "/usr/lib/ld-linux-x86-64.so.2",
          "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
          "/etc/nsswitch.conf", "/usr/lib/x86_64-linux-gnu/libnss_mymod.so.2"})
      EXPECT_TRUE(n.count(p)) << p << " with_cache=" << with_cache;
    EXPECT_EQ(n.at("/usr/lib/x86_64-linux-gnu/libnss_mymod.so.2").reason,
              "rule: nss (nsswitch.conf: mymod)");
  }
}

// ldconfig caches glibc-hwcaps variants; the lookup picks the best level the CPU supports.
TEST_F(ClosureTest, LdCacheHwcapsSelection) {
  const std::string r = d_ + "/root";
  Lib("root/usr/lib/libdeep.so.1", "deep", "-Wl,-soname,libdeep.so.1");
  Lib("root/usr/lib/glibc-hwcaps/x86-64-v2/libdeep.so.1", "deep", "-Wl,-soname,libdeep.so.1");
  Write("root/etc/ld.so.conf", "");
  ASSERT_EQ(std::system(("ldconfig -r " + r + " 2>/dev/null").c_str()), 0);
  auto cache = LoadLdCache(r);
  ASSERT_TRUE(cache.ok()) << cache.message();
  ASSERT_TRUE(cache->has_value());
  const LdCache& lc = **cache;
  EXPECT_EQ(lc.Lookup("libdeep.so.1", 1).value_or(""), "/usr/lib/libdeep.so.1");
  EXPECT_EQ(lc.Lookup("libdeep.so.1", 2).value_or(""),
            "/usr/lib/glibc-hwcaps/x86-64-v2/libdeep.so.1");
  EXPECT_EQ(lc.Lookup("libdeep.so.1", 4).value_or(""),
            "/usr/lib/glibc-hwcaps/x86-64-v2/libdeep.so.1");
  EXPECT_FALSE(lc.Lookup("libnope.so", 4).has_value());
  EXPECT_FALSE(LdCache::Parse("garbage", "x").ok());
  EXPECT_EQ(LdCache::Parse("garbage", "x").message(), "x: not a glibc-ld.so.cache1.1 file");
}

TEST(LdCacheHost, FindsLibcAndHwcapsOrder) {
  auto cache = LoadLdCache("/");
  ASSERT_TRUE(cache.ok()) << cache.message();
  ASSERT_TRUE(cache->has_value());
  EXPECT_EQ((*cache)->Lookup("libc.so.6", HostX86Level()).value_or(""),
            "/lib/x86_64-linux-gnu/libc.so.6");
  auto s = SearchSubdirs(4, "x86_64");
  std::vector<std::string> want = {"glibc-hwcaps/x86-64-v4/",
                                   "glibc-hwcaps/x86-64-v3/",
                                   "glibc-hwcaps/x86-64-v2/",
                                   "tls/x86_64/x86_64/",
                                   "tls/x86_64/",
                                   "tls/",
                                   "x86_64/x86_64/",
                                   "x86_64/",
                                   ""};
  EXPECT_EQ(s, want);
  EXPECT_EQ(SearchSubdirs(1, "x86_64").front(), "tls/x86_64/x86_64/");
}

}  // namespace
}  // namespace arrow::builder
