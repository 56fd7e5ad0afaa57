#include "builder/recipe.h"

#include <gtest/gtest.h>

namespace arrow::builder {
namespace {

std::string ErrorOf(std::string_view text) {
  auto r = ParseRecipe(text, "t.recipe");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.message();
}

TEST(Recipe, FullRecipeParses) {
  auto r = ParseRecipe(R"(
name = "hello"
version = "1.2.3"
[app]
exec = "/usr/bin/hello"
args = ["--greeting", "hi"]
env = { LANG = "C.UTF-8" }
workdir = "/srv"
[files]
include = ["/usr/share/hello"]
exclude = ["*/__pycache__/*"]
map = { "/etc/app.conf" = "app.conf" }
[rules]
gconv = true
[kernel]
image = "/boot/vmlinuz"
cmdline = "loglevel=3"
[vm]
memory = "256M"
cpus = 2
)", "t.recipe");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->name, "hello");
  EXPECT_EQ(r->version, "1.2.3");
  EXPECT_EQ(r->app.exec, "/usr/bin/hello");
  EXPECT_EQ(r->app.args, (std::vector<std::string>{"--greeting", "hi"}));
  EXPECT_EQ(r->app.env.at("LANG"), "C.UTF-8");
  EXPECT_EQ(r->app.workdir, "/srv");
  EXPECT_EQ(r->files.include, std::vector<std::string>{"/usr/share/hello"});
  EXPECT_EQ(r->files.exclude, std::vector<std::string>{"*/__pycache__/*"});
  EXPECT_EQ(r->files.map.at("/etc/app.conf"), "app.conf");
  EXPECT_TRUE(r->rules.gconv);
  EXPECT_TRUE(r->rules.nss);
  EXPECT_EQ(r->kernel.image, "/boot/vmlinuz");
  EXPECT_EQ(r->kernel.cmdline, "loglevel=3");
  EXPECT_EQ(r->vm.memory, 256ull << 20);
  EXPECT_EQ(r->vm.cpus, 2);
  EXPECT_EQ(r->text_digest.substr(0, 7), "sha256:");
}

TEST(Recipe, LibgccRuleTakesAutoOrABoolean) {
  using L = ClosureOptions::Libgcc;
  auto parse = [](const std::string& v) {
    return ParseRecipe("name = \"x\"\n[app]\nexec = \"/a\"\n[rules]\nlibgcc_s = " + v + "\n",
                       "t.recipe");
  };
  EXPECT_EQ(parse("\"auto\"")->rules.libgcc_s, L::kAuto);
  EXPECT_EQ(parse("true")->rules.libgcc_s, L::kAlways);
  EXPECT_EQ(parse("false")->rules.libgcc_s, L::kNever);
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[rules]\nlibgcc_s = \"yes\"\n"),
            "t.recipe:5:12: 'libgcc_s' must be true, false or \"auto\", not string");
}

TEST(Recipe, DefaultsForMinimalRecipe) {
  auto r = ParseRecipe("name = \"x\"\n[app]\nexec = \"/bin/true\"\n", "t.recipe");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->version, "0.0.0");
  EXPECT_EQ(r->app.workdir, "/");
  EXPECT_EQ(r->vm.memory, 128ull << 20);
  EXPECT_EQ(r->vm.cpus, 1);
  EXPECT_TRUE(r->kernel.image.empty());
  EXPECT_EQ(r->rules.libgcc_s, ClosureOptions::Libgcc::kAuto);
}

TEST(Recipe, UnknownKeySuggestsClosest) {
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexce = \"/bin/true\"\n"),
            "t.recipe:3:1: unknown key 'exce' in [app] (did you mean 'exec'?)\n"
            "t.recipe:2:1: [app] is missing the required key 'exec' (the program to run)");
}

TEST(Recipe, UnknownKeyWithoutNearMatchListsKeys) {
  EXPECT_EQ(ErrorOf("name = \"x\"\n[vm]\nfloppy = 1\n[app]\nexec = \"/a\"\n"),
            "t.recipe:3:1: unknown key 'floppy' in [vm] (expected one of: memory cpus)");
}

TEST(Recipe, UnknownTopLevelTable) {
  EXPECT_EQ(ErrorOf("name = \"x\"\n[ap]\nexec = \"/a\"\n"),
            "t.recipe:2:2: unknown key 'ap' at the top level (did you mean 'app'?)\n"
            "t.recipe:1:1: missing the required table [app] (with at least exec = "
            "\"/path/to/program\")");
}

TEST(Recipe, WrongTypes) {
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = 5\nargs = \"-v\"\n"),
            "t.recipe:3:8: 'exec' must be a string, not integer\n"
            "t.recipe:4:8: 'args' must be an array of strings, not string");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\nargs = [\"a\", 2]\n"),
            "t.recipe:4:14: 'args' must hold only strings, not integer");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\nenv = { A = 1 }\n"),
            "t.recipe:4:13: 'env.A' must be a string, not integer");
  EXPECT_EQ(ErrorOf("name = \"x\"\napp = 3\n"),
            "t.recipe:2:7: 'app' must be a table ([app]), not integer");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[rules]\nnss = \"yes\"\n"),
            "t.recipe:5:7: 'nss' must be true or false, not string");
}

TEST(Recipe, BadValues) {
  EXPECT_EQ(ErrorOf("name = \"Hello World\"\n[app]\nexec = \"/a\"\n"),
            "t.recipe:1:8: 'name' must be 1-128 characters of a-z, 0-9, '.', '_' or '-', got "
            "'Hello World'");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"bin/a\"\n"),
            "t.recipe:3:8: 'exec' must be an absolute path in the image, got 'bin/a'");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[vm]\nmemory = \"12Q\"\n"),
            "t.recipe:5:10: invalid size '12Q' (expected a number with K, M, G or T, like "
            "\"128M\")");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[vm]\ncpus = 0\n"),
            "t.recipe:5:8: 'cpus' must be between 1 and 64, got 0");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[vm]\nmemory = \"1M\"\n"),
            "t.recipe:5:10: 'memory' must be between 32M and 1T");
}

TEST(Recipe, KernelTunedOrPrebuilt) {
  auto tuned = ParseRecipe(
      "name = \"x\"\n[app]\nexec = \"/a\"\n[kernel]\nconfig = \"microvm\"\nfeatures = [\"net\"]\n",
      "t.recipe");
  ASSERT_TRUE(tuned.ok()) << tuned.message();
  EXPECT_EQ(tuned->kernel.config, "microvm");
  EXPECT_EQ(tuned->kernel.features, std::vector<std::string>{"net"});
  auto pre = ParseRecipe(
      "name = \"x\"\n[app]\nexec = \"/a\"\n[kernel]\nimage = \"/vmlinuz\"\nmodules = [\"kvm-amd\"]\n",
      "t.recipe");
  ASSERT_TRUE(pre.ok()) << pre.message();
  EXPECT_EQ(pre->kernel.modules, std::vector<std::string>{"kvm-amd"});
  EXPECT_EQ(tuned->kernel.format, "vmlinux");  // the default for a tuned kernel
  EXPECT_EQ(pre->kernel.format, "bzimage");    // a prebuilt image stays what it is
  auto old = ParseRecipe("name = \"x\"\n[app]\nexec = \"/a\"\n[kernel]\nformat = \"bzimage\"\n", "t.recipe");
  ASSERT_TRUE(old.ok()) << old.message();
  EXPECT_EQ(old->kernel.format, "bzimage");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[kernel]\nformat = \"elf\"\n"),
            "t.recipe:5:10: [kernel] format must be \"vmlinux\" or \"bzimage\", not \"elf\"");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[kernel]\nimage = \"/v\"\nformat = \"vmlinux\"\n"),
            "t.recipe:6:10: format = \"vmlinux\" needs a tuned kernel: a prebuilt [kernel] image is "
            "stored as its bzImage");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[kernel]\nimage = \"/v\"\nfeatures = [\"net\"]\n"),
            "t.recipe:6:12: [kernel] takes either image (a prebuilt kernel) or config/features (a "
            "tuned one), not both");
  EXPECT_EQ(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[kernel]\nmodules = [\"kvm\"]\n"),
            "t.recipe:5:11: 'modules' needs a prebuilt [kernel] image: tuned kernels have no module "
            "support (add a feature fragment instead)");
}

TEST(Recipe, TomlSyntaxErrorHasPosition) {
  std::string e = ErrorOf("name = \"x\n");
  EXPECT_EQ(e.rfind("t.recipe:1:", 0), 0u) << e;
}

TEST(Recipe, MissingName) {
  EXPECT_EQ(ErrorOf("[app]\nexec = \"/a\"\n"), "t.recipe:1:1: missing the required key 'name'");
}

TEST(ParseSize, Units) {
  EXPECT_EQ(*ParseSize("128M"), 128ull << 20);
  EXPECT_EQ(*ParseSize("1g"), 1ull << 30);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("16MiB"), 16ull << 20);
  EXPECT_EQ(*ParseSize("16mb"), 16ull << 20);
  EXPECT_EQ(*ParseSize("512KiB"), 512ull << 10);
  EXPECT_EQ(*ParseSize("100B"), 100u);
  EXPECT_FALSE(ParseSize("MiB").ok());
  EXPECT_FALSE(ParseSize("16QiB").ok());
  EXPECT_FALSE(ParseSize("").ok());
  EXPECT_FALSE(ParseSize("M").ok());
  EXPECT_FALSE(ParseSize("-1M").ok());
}


TEST(Recipe, VolumesUserAndRoot) {
  auto r = ParseRecipe(R"(
name = "db"
[app]
exec = "/usr/bin/db"
volumes = ["/var/lib/db", "/srv/cache"]
user = "postgres:ssl-cert"
[image]
root = "erofs"
)", "t.recipe");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->app.volumes, (std::vector<std::string>{"/var/lib/db", "/srv/cache"}));
  EXPECT_EQ(r->app.user, "postgres:ssl-cert");
  EXPECT_EQ(r->image.root, "erofs");
  auto d = ParseRecipe("name = \"x\"\n[app]\nexec = \"/a\"\n", "t.recipe");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->image.root, "auto");
  EXPECT_TRUE(d->app.volumes.empty());
  EXPECT_TRUE(d->app.user.empty());
}

TEST(Recipe, BadVolumesUsersAndRootsAreNamed) {
  auto with = [](const std::string& line) { return "name = \"x\"\n[app]\nexec = \"/a\"\n" + line + "\n"; };
  EXPECT_NE(ErrorOf(with("volumes = [\"data\"]")).find("t.recipe:4:12: volumes: 'data' must be an absolute path"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("volumes = [\"/a/../b\"]")).find("normalised"), std::string::npos);
  EXPECT_NE(ErrorOf(with("volumes = [\"/proc/x\"]")).find("inside /proc"), std::string::npos);
  EXPECT_NE(ErrorOf(with("volumes = [\"/data\", \"/data/x\"]")).find("nest (volumes cannot)"), std::string::npos);
  EXPECT_NE(ErrorOf(with("volumes = [\"/data\", \"/data\"]")).find("are the same path"), std::string::npos);
  EXPECT_NE(ErrorOf(with("user = \"a:b:c\"")).find("'user' must be UID[:GID] or NAME[:GROUP]"), std::string::npos);
  EXPECT_NE(ErrorOf(with("user = \"\"")).find("'user' must be"), std::string::npos);
  EXPECT_NE(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[image]\nroot = \"squashfs\"\n")
                .find("'root' must be \"auto\", \"initramfs\" or \"erofs\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[image]\nrot = \"erofs\"\n").find("rot"),
            std::string::npos);
}


TEST(Recipe, FilesDirs) {
  auto r = ParseRecipe(R"(
name = "web"
[app]
exec = "/usr/sbin/nginx"
[files]
dirs = ["/run/nginx", { path = "/var/lib/nginx", owner = "www-data", mode = "0750" }]
)", "t.recipe");
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->files.dirs.size(), 2u);
  EXPECT_EQ(r->files.dirs[0].path, "/run/nginx");
  EXPECT_EQ(r->files.dirs[0].mode, 0755u);
  EXPECT_TRUE(r->files.dirs[0].owner.empty());
  EXPECT_EQ(r->files.dirs[1].owner, "www-data");
  EXPECT_EQ(r->files.dirs[1].mode, 0750u);
  auto with = [](const std::string& d) { return "name = \"x\"\n[app]\nexec = \"/a\"\n[files]\ndirs = " + d + "\n"; };
  EXPECT_NE(ErrorOf(with("[{ path = \"/a\", mode = \"0999\" }]")).find("'mode' must be octal"), std::string::npos);
  EXPECT_NE(ErrorOf(with("[\"rel\"]")).find("[files] dirs: 'rel' must be an absolute path"), std::string::npos);
  EXPECT_NE(ErrorOf(with("[{ owner = \"x\" }]")).find("a table needs 'path'"), std::string::npos);
  EXPECT_NE(ErrorOf(with("[{ path = \"/a\", ownr = \"x\" }]")).find("ownr"), std::string::npos);
  EXPECT_NE(ErrorOf(with("[7]")).find("must be paths or"), std::string::npos);
}


TEST(Recipe, ReadyProbes) {
  auto with = [](const std::string& v) { return "name = \"x\"\n[app]\nexec = \"/a\"\nready = \"" + v + "\"\n"; };
  for (const char* ok : {"tcp:80", "http:8080/healthz", "http:80", "log:^ready [0-9]+"}) {
    auto r = ParseRecipe(with(ok), "t.recipe");
    ASSERT_TRUE(r.ok()) << ok << ": " << r.message();
    EXPECT_EQ(r->app.ready, ok);
  }
  for (const char* bad : {"tcp:0", "tcp:70000", "tcp:80/x", "http:x/y", "udp:53", "log:", "ready"})
    EXPECT_NE(ErrorOf(with(bad)).find("'ready' must be"), std::string::npos) << bad;
  EXPECT_NE(ErrorOf(with("log:(unclosed")).find("bad regular expression"), std::string::npos);
}


TEST(Recipe, VerifySection) {
  auto r = ParseRecipe(R"(
name = "web"
[app]
exec = "/usr/sbin/nginx"
[verify]
http = [{ port = 80, path = "/x", status = 404, body = "nope" }]
tcp = [80, 443]
timeout = "30s"
env = { PASSWORD = "check" }
)", "t.recipe");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->verify.present);
  EXPECT_EQ(r->verify.env, (std::map<std::string, std::string>{{"PASSWORD", "check"}}));
  ASSERT_EQ(r->verify.http.size(), 1u);
  EXPECT_EQ(r->verify.http[0].path, "/x");
  EXPECT_EQ(r->verify.http[0].status, 404);
  EXPECT_EQ(r->verify.tcp, (std::vector<int>{80, 443}));
  EXPECT_FALSE(r->verify.args.has_value());
  auto with = [](const std::string& v) { return "name = \"x\"\n[app]\nexec = \"/a\"\n[verify]\n" + v + "\n"; };
  EXPECT_NE(ErrorOf(with("exit = 300")).find("an exit status in 0..255"), std::string::npos);
  EXPECT_NE(ErrorOf(with("stdout = \"(\"")).find("bad regular expression"), std::string::npos);
  EXPECT_NE(ErrorOf(with("tcp = [0]")).find("a port number"), std::string::npos);
  EXPECT_NE(ErrorOf(with("http = [{ path = \"/\" }]")).find("'port' is required"), std::string::npos);
  EXPECT_NE(ErrorOf(with("http = [{ port = 80, path = \"x\" }]")).find("must start with /"), std::string::npos);
  EXPECT_NE(ErrorOf(with("htp = []")).find("htp"), std::string::npos);
  EXPECT_NE(ErrorOf(with("env = { \"A=B\" = \"x\" }")).find("not a valid variable name"), std::string::npos);
  EXPECT_NE(ErrorOf(with("env = { A = 1 }")).find("must be a string"), std::string::npos);
}

TEST(Recipe, TraceSectionAndDlopenRule) {
  auto r = ParseRecipe(R"(
name = "web"
[app]
exec = "/usr/bin/python3"
ports = [8000]
[trace]
runs = [["-c", "import app"], ["--version"]]
http = [{ port = 8000, path = "/health" }]
timeout = "90s"
keep = ["/usr/lib/python3.11/encodings"]
[rules]
dlopen = "suggested"
)", "t.recipe");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->trace.present);
  EXPECT_EQ(r->trace.runs, (std::vector<std::vector<std::string>>{{"-c", "import app"}, {"--version"}}));
  ASSERT_EQ(r->trace.http.size(), 1u);
  EXPECT_EQ(r->trace.http[0].port, 8000);
  EXPECT_EQ(r->trace.http[0].path, "/health");
  EXPECT_EQ(r->trace.timeout, "90s");
  EXPECT_EQ(r->trace.keep, std::vector<std::string>{"/usr/lib/python3.11/encodings"});
  EXPECT_EQ(r->rules.dlopen, ClosureOptions::Dlopen::kSuggested);
  auto plain = ParseRecipe("name = \"x\"\n[app]\nexec = \"/a\"\n", "t.recipe");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->trace.present);
  EXPECT_EQ(plain->trace.timeout, "60s");
  EXPECT_EQ(plain->rules.dlopen, ClosureOptions::Dlopen::kRecommended);
  auto with = [](const std::string& v) { return "name = \"x\"\n[app]\nexec = \"/a\"\nports = [80]\n[trace]\n" + v + "\n"; };
  EXPECT_NE(ErrorOf(with("runs = [\"--version\"]")).find("each run is an array of strings"), std::string::npos);
  EXPECT_NE(ErrorOf(with("http = [{ port = 8000 }]")).find("port 8000 is not in [app] ports"), std::string::npos);
  EXPECT_NE(ErrorOf(with("http = [{ port = 80, path = \"x\" }]")).find("'path' must start with /"), std::string::npos);
  EXPECT_NE(ErrorOf(with("timeout = \"soon\"")).find("a duration like"), std::string::npos);
  EXPECT_NE(ErrorOf(with("keep = [\"relative\"]")).find("must be absolute paths"), std::string::npos);
  EXPECT_NE(ErrorOf(with("kep = []")).find("kep"), std::string::npos);
  EXPECT_NE(ErrorOf("name = \"x\"\n[app]\nexec = \"/a\"\n[rules]\ndlopen = \"all\"\n").find("\"required\", \"recommended\" or \"suggested\""),
            std::string::npos);
}

}  // namespace
}  // namespace arrow::builder
