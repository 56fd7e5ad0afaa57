// Cache logic of EnsureKernel against a fake `make` (a shell script), so key stability, locking
// and atomic entries are tested in milliseconds. The real kernel is kernel_e2e_test.cc.
#include "builder/kernel_build.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/file_util.h"
#include "packer/zstd_writer.h"

namespace arrow::builder {
namespace fs = std::filesystem;
namespace {

// Emulates the three make invocations EnsureKernel runs. FAKE_DROP removes an option from the
// "final" .config, FAKE_SLEEP/FAKE_FAIL shape the bzImage step, FAKE_LOG counts builds.
constexpr const char* kFakeMake = R"(
for a in "$@"; do
  case "$a" in O=*) O="${a#O=}";; KCONFIG_ALLCONFIG=*) ALL="${a#KCONFIG_ALLCONFIG=}";; esac
  target="$a"
done
case "$target" in
  allnoconfig) grep -v "^${FAKE_DROP:-NONE}=" "$ALL" > "$O/.config" ;;
  olddefconfig) ;;
  bzImage)
    echo "  CC      init/main.o"
    echo build >> "$FAKE_LOG"
    sleep "${FAKE_SLEEP:-0}"
    [ -n "$FAKE_FAIL" ] && { echo "error: fake failure"; exit 2; }
    mkdir -p "$O/arch/x86/boot/compressed" && cp "$FAKE_BZIMAGE" "$O/arch/x86/boot/bzImage"
    printf '\177ELF\002\001\001 fake vmlinux' > "$O/arch/x86/boot/compressed/vmlinux.bin" ;;
esac
)";

class KernelCache : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("arrow-kcache-test");
    ASSERT_TRUE(t.ok()) << t.message();
    tmp_.emplace(std::move(*t));
    const fs::path root = tmp_->path();
    // A fake kernel source tree: enough for IdentifyKernelSource and the tiny fragments.
    src_ = root / "linux";
    fs::create_directories(src_ / "scripts/kconfig");
    fs::create_directories(src_ / "kernel/configs");
    Write(src_ / "Makefile", "VERSION = 6\n");
    Write(src_ / "kernel/configs/tiny-base.config", "CONFIG_EMBEDDED=y\n");
    fs::create_directories(root / "configs");
    Write(root / "configs/microvm.config", "# base\nCONFIG_64BIT=y\n# CONFIG_PCI is not set\n");
    Write(root / "configs/net.config", "CONFIG_VIRTIO_NET=y\n");
    Write(root / "make.sh", kFakeMake);
    // A minimal bzImage header ReadKernelImage accepts.
    std::string bz(0x400, '\0');
    bz[0x1fe] = '\x55';
    bz[0x1ff] = '\xaa';
    bz.replace(0x202, 4, "HdrS");
    bz[0x206] = '\x0f';
    bz[0x207] = '\x02';
    bz[0x20e] = '\x00';
    bz[0x20f] = '\x01';  // kernel_version at 0x100 + 0x200
    bz.replace(0x300, 20, "6.1.99-fake (t@t) #1");
    bz[0x236] = 1;
    Write(root / "bzImage.fake", bz);
    env_.configs_dir = root / "configs";
    env_.cache_dir = root / "cache";
    env_.make = {"/bin/sh", (root / "make.sh").string()};
    spec_.source = src_;
    log_ = root / "builds.log";
    setenv("FAKE_LOG", log_.c_str(), 1);
    setenv("FAKE_BZIMAGE", (root / "bzImage.fake").c_str(), 1);
    for (const char* v : {"FAKE_DROP", "FAKE_SLEEP", "FAKE_FAIL"}) unsetenv(v);
  }
  static void Write(const fs::path& p, const std::string& text) {
    ASSERT_TRUE(WriteFileAtomic(p, text).ok()) << p;
  }
  std::string Key(const KernelSpec& spec) {
    auto p = PlanKernel(spec, env_);
    EXPECT_TRUE(p.ok()) << p.message();
    return p.ok() ? p->key : "";
  }
  int Builds() {
    auto t = ReadFile(log_);
    return t.ok() ? static_cast<int>(std::count(t->begin(), t->end(), '\n')) : 0;
  }
  std::vector<std::string> KernelsDir() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(env_.cache_dir / "kernels", ec))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::optional<TempDir> tmp_;
  fs::path src_, log_;
  KernelBuildEnv env_;
  KernelSpec spec_;
};

TEST_F(KernelCache, KeyIsStableAndTracksEveryInput) {
  const std::string k = Key(spec_);
  EXPECT_EQ(k.size(), 32u);
  EXPECT_EQ(Key(spec_), k);
  // Comments and blank lines do not change the kernel.
  Write(env_.configs_dir / "microvm.config",
        "# reworded\n\nCONFIG_64BIT=y\n# CONFIG_PCI is not set\n");
  EXPECT_EQ(Key(spec_), k);
  // A changed option does.
  Write(env_.configs_dir / "microvm.config", "CONFIG_64BIT=y\nCONFIG_PCI=y\n");
  const std::string k2 = Key(spec_);
  EXPECT_NE(k2, k);
  // So does a feature fragment, and a user's own fragment by path.
  KernelSpec with_net = spec_;
  with_net.features = {"net"};
  EXPECT_NE(Key(with_net), k2);
  Write(tmp_->path() / "mine.config", "CONFIG_VIRTIO_NET=y\n");
  KernelSpec with_path = spec_;
  with_path.features = {(tmp_->path() / "mine.config").string()};
  EXPECT_EQ(Key(with_path), Key(with_net));  // same requested options, same kernel
  // And the source tree and the compiler.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Write(src_ / "Makefile", "VERSION = 6\nPATCHLEVEL = 2\n");
  EXPECT_NE(Key(spec_), k2);
  auto req = ParseKernelConfig("CONFIG_64BIT=y\n", "x");
  EXPECT_NE(KernelCacheKey("s", *req, "gcc 12.2.0"), KernelCacheKey("s", *req, "gcc 13.1.0"));
}

TEST_F(KernelCache, UnknownFragmentListsWhatExists) {
  spec_.features = {"nett"};
  auto r = PlanKernel(spec_, env_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "unknown kernel config 'nett' (" + env_.configs_dir.string() +
                             " has: microvm, net; or give a path to your own fragment)");
}

TEST_F(KernelCache, BuildsOnceThenHitsQuickly) {
  std::vector<std::string> progress;
  env_.progress = [&](std::string_view l) { progress.emplace_back(l); };
  auto a = EnsureKernel(spec_, env_);
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_FALSE(a->hit);
  EXPECT_EQ(a->version, "6.1.99-fake");
  EXPECT_EQ(a->config_digest.substr(0, 7), "sha256:");
  EXPECT_EQ(a->bzimage, env_.cache_dir / "kernels" / a->key / "bzImage");
  EXPECT_EQ(a->vmlinux_zst, env_.cache_dir / "kernels" / a->key / "vmlinux.zst");
  auto zst = ReadFile(a->vmlinux_zst);
  ASSERT_TRUE(zst.ok());
  auto elf = packer::ZstdDecompress(*zst, 1 << 20);
  ASSERT_TRUE(elf.ok()) << elf.message();
  EXPECT_EQ(*elf, "\x7f" "ELF\x02\x01\x01 fake vmlinux");
  EXPECT_TRUE(fs::exists(a->config_file));
  EXPECT_FALSE(progress.empty());
  auto t0 = std::chrono::steady_clock::now();
  auto b = EnsureKernel(spec_, env_);
  auto dt = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_TRUE(b->hit);
  EXPECT_EQ(b->config_digest, a->config_digest);
  EXPECT_LT(dt, std::chrono::milliseconds(500));
  EXPECT_EQ(Builds(), 1);
  auto list = ListCachedKernels(env_);
  ASSERT_TRUE(list.ok()) << list.message();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].fragments, std::vector<std::string>{"microvm"});
  auto found = FindCachedKernel(spec_, env_);
  ASSERT_TRUE(found.ok() && found->has_value());
  spec_.features = {"net"};
  auto none = FindCachedKernel(spec_, env_);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(KernelCache, DroppedOptionFailsBeforeCompilingAndLeavesNoEntry) {
  setenv("FAKE_DROP", "CONFIG_VIRTIO_NET", 1);
  spec_.features = {"net"};
  auto a = EnsureKernel(spec_, env_);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("net.config:1: CONFIG_VIRTIO_NET=y -> not set"), std::string::npos)
      << a.message();
  EXPECT_EQ(Builds(), 0);
  auto list = ListCachedKernels(env_);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(KernelsDir(), std::vector<std::string>{Key(spec_) + ".lock"});  // no temp dir left
}

TEST_F(KernelCache, FailedBuildShowsMakeOutputAndLeavesNoEntry) {
  setenv("FAKE_FAIL", "1", 1);
  auto a = EnsureKernel(spec_, env_);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("failed with exit status 2:"), std::string::npos) << a.message();
  EXPECT_NE(a.message().find("error: fake failure"), std::string::npos) << a.message();
  EXPECT_EQ(KernelsDir(), std::vector<std::string>{Key(spec_) + ".lock"});
}

TEST_F(KernelCache, InterruptedBuildLeavesNoEntryAndIsRetried) {
  setenv("FAKE_SLEEP", "30", 1);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);
    _exit(EnsureKernel(spec_, env_).ok() ? 0 : 1);
  }
  for (int i = 0; i < 500 && Builds() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(Builds(), 1);
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  auto list = ListCachedKernels(env_);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  unsetenv("FAKE_SLEEP");
  auto a = EnsureKernel(spec_, env_);
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_FALSE(a->hit);
  EXPECT_EQ(KernelsDir(),
            (std::vector<std::string>{a->key, a->key + ".lock"}));  // stale temp removed
}

TEST_F(KernelCache, ConcurrentBuildsOfOneKeyBuildOnce) {
  setenv("FAKE_SLEEP", "1", 1);
  pid_t pids[2];
  for (pid_t& p : pids) {
    p = fork();
    ASSERT_GE(p, 0);
    if (p == 0) _exit(EnsureKernel(spec_, env_).ok() ? 0 : 1);
  }
  for (pid_t p : pids) {
    int status = 0;
    waitpid(p, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(Builds(), 1);
  auto list = ListCachedKernels(env_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

// prune frees the unpacked source and interrupted builds but never what a running build uses;
// --all also drops built kernels, which the next use rebuilds.
TEST_F(KernelCache, PruneFreesSourcesAndLeftoversButNotWhatABuildUses) {
  const fs::path tar = tmp_->path() / "linux.tar";
  ASSERT_EQ(
      std::system(("tar -cf " + tar.string() + " -C " + tmp_->path().string() + " linux").c_str()),
      0);
  spec_.source = tar;
  auto a = EnsureKernel(spec_, env_);
  ASSERT_TRUE(a.ok()) << a.message();
  const fs::path src_dir = env_.cache_dir / "kernels" / "src";
  auto trees = [&] {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(src_dir))
      if (e.is_directory()) v.push_back(e.path().filename().string());
    return v;
  };
  ASSERT_EQ(trees().size(), 1u);
  const fs::path tree = src_dir / trees()[0];
  // An interrupted build of this key left its temp dir behind.
  const fs::path stale = env_.cache_dir / "kernels" / (".tmp-" + a->key + "-99999");
  fs::create_directories(stale / "build");
  Write(stale / "build" / "x.o", std::string(1000, 'x'));

  auto r = PruneKernelCache(env_, false);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->removed, (std::vector<std::string>{tree.string(), stale.string()}));
  EXPECT_TRUE(r->busy.empty());
  EXPECT_GT(r->bytes, 1000u);
  EXPECT_TRUE(trees().empty());
  EXPECT_FALSE(fs::exists(stale));
  auto hit = EnsureKernel(spec_, env_);  // built kernels stay
  ASSERT_TRUE(hit.ok() && hit->hit) << hit.message();

  // A build in progress: its source tree and temp dir are busy and survive; it completes.
  spec_.features = {"net"};
  setenv("FAKE_SLEEP", "2", 1);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(EnsureKernel(spec_, env_).ok() ? 0 : 1);
  for (int i = 0; i < 500 && Builds() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(Builds(), 2);
  fs::create_directories(env_.cache_dir / "vmlinux");
  Write(env_.cache_dir / "vmlinux" / "00.elf", "a decompressed kernel layer");
  r = PruneKernelCache(env_, true);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_FALSE(fs::exists(env_.cache_dir / "vmlinux"));
  ASSERT_EQ(r->removed.size(), 2u);
  EXPECT_EQ(r->removed[1], (env_.cache_dir / "vmlinux").string());
  r->removed.pop_back();
  ASSERT_EQ(r->busy.size(), 2u);
  EXPECT_EQ(r->busy[0], tree.string());
  EXPECT_NE(r->busy[1].find("/.tmp-" + Key(spec_) + "-"), std::string::npos) << r->busy[1];
  EXPECT_EQ(r->removed, std::vector<std::string>{(env_.cache_dir / "kernels" / a->key).string()});
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unsetenv("FAKE_SLEEP");
  auto net = FindCachedKernel(spec_, env_);
  ASSERT_TRUE(net.ok() && net->has_value());

  // --all with nothing running: the last kernel and the tree go; the next build starts over.
  r = PruneKernelCache(env_, true);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->busy.empty());
  EXPECT_EQ(r->removed.size(), 2u);
  auto list = ListCachedKernels(env_);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  auto again = EnsureKernel(spec_, env_);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_FALSE(again->hit);
  EXPECT_EQ(trees().size(), 1u);
}

TEST_F(KernelCache, FetchedKernelIsCheckedAndInstalledInsteadOfCompiling) {
  std::vector<std::string> progress;
  env_.progress = [&](std::string_view l) { progress.emplace_back(l); };
  std::vector<std::string> compiled;
  env_.compiled = [&](const KernelArtifact& a) { compiled.push_back(a.key); };
  const std::string good_config = "CONFIG_64BIT=y\n# CONFIG_PCI is not set\nCONFIG_EXTRA=y\n";
  std::string config = good_config;
  std::string vmlinux;
  bool offered = true;
  env_.fetch = [&](const KernelPlan& plan, const fs::path& dir) -> Result<bool> {
    EXPECT_EQ(plan.key, Key(spec_));
    if (!offered) return Err("registry r: cannot reach it");
    fs::copy_file(tmp_->path() / "bzImage.fake", dir / "bzImage");
    Write(dir / "config", config);
    if (vmlinux.empty()) return true;  // a registry that lacks the vmlinux layer
    auto w = packer::ZstdFileWriter::Create(dir / "vmlinux.zst", 3, 1);
    EXPECT_TRUE(w.ok() && w->Write(vmlinux).ok() && w->Finish().ok());
    return true;
  };
  // A kernel without its vmlinux, or whose vmlinux is not an ELF file, is rejected.
  for (std::string bad : {"", "not an ELF file"}) {
    vmlinux = bad;
    progress.clear();
    auto r = EnsureKernel(spec_, env_);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_FALSE(r->pulled) << bad;
    ASSERT_FALSE(progress.empty());
    EXPECT_NE(progress[0].find("rejected the fetched kernel"), std::string::npos) << progress[0];
    EXPECT_NE(progress[0].find("vmlinux"), std::string::npos) << progress[0];
    ASSERT_TRUE(PruneKernelCache(env_, true).ok());
  }
  compiled.clear();
  ASSERT_EQ(Builds(), 2);
  vmlinux = "\x7f" "ELF\x02\x01\x01 a fetched vmlinux";
  // A kernel whose .config lacks a requested option is rejected, and the kernel is compiled.
  config = "# CONFIG_PCI is not set\n";
  auto a = EnsureKernel(spec_, env_);
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_FALSE(a->pulled);
  EXPECT_EQ(Builds(), 3);
  EXPECT_EQ(compiled, std::vector<std::string>{a->key});
  bool rejected = false;
  for (const auto& l : progress) rejected |= l.find("rejected the fetched kernel " + a->key) != std::string::npos && l.ends_with("; compiling locally");
  EXPECT_TRUE(rejected);

  // A fitting one is installed: no compile, a normal cache entry afterwards.
  spec_.features = {"net"};
  config = good_config + "CONFIG_VIRTIO_NET=y\n";
  auto b = EnsureKernel(spec_, env_);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_TRUE(b->pulled);
  EXPECT_EQ(Builds(), 3);
  EXPECT_TRUE(fs::exists(b->vmlinux_zst));
  EXPECT_EQ(compiled.size(), 1u);
  EXPECT_EQ(b->version, "6.1.99-fake");
  auto again = EnsureKernel(spec_, env_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->hit);
  EXPECT_EQ(again->config_digest, b->config_digest);

  // An unreachable registry: one line, then a local compile; the build does not fail.
  offered = false;
  progress.clear();
  spec_.features = {};
  spec_.config = (tmp_->path() / "configs/net.config").string();
  auto c = EnsureKernel(spec_, env_);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(Builds(), 4);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress[0], "[kernel] registry r: cannot reach it; compiling locally");
  for (const auto& n : KernelsDir()) EXPECT_EQ(n.find("fetch"), std::string::npos) << n;  // no leftovers
}

}  // namespace
}  // namespace arrow::builder
