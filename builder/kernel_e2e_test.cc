// The real thing: Debian's linux-source-6.1 through EnsureKernel, then a boot under qemu TCG.
//
// Uses the user's kernel cache (KernelBuildEnv::FromEnvironment), so the source is unpacked and
// the microvm kernel built once per machine and reused by later runs (minutes cold, ms cached).
// The install step provides the source; its absence is a failure, not a skip. Debian's kernel
// with modules is proven end to end by tests/e2e/kernel_test.sh through arrow-build itself.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>

#include "builder/command.h"
#include "builder/kernel_build.h"
#include "builder/kernel_modules.h"
#include "common/file_util.h"

namespace arrow::builder {
namespace fs = std::filesystem;
namespace {

KernelBuildEnv Env() {
  KernelBuildEnv env = KernelBuildEnv::FromEnvironment();
  env.progress = [](std::string_view l) {
    std::fprintf(stderr, "%.*s\n", int(l.size()), l.data());
  };
  return env;
}

bool HaveSource() {
  return fs::exists(kDefaultKernelSource);
}

TEST(KernelE2E, RealKconfigDropsOptionsWithUnmetDependencies) {
  ASSERT_TRUE(HaveSource()) << kDefaultKernelSource << " missing (scripts/install-deps.sh)";
  auto tmp = TempDir::Create("arrow-kdrop");
  ASSERT_TRUE(tmp.ok());
  const fs::path frag = tmp->path() / "bad.config";
  // VIRTIO_BLK needs BLOCK; KVM_AMD needs VIRTUALIZATION and KVM. Neither is in microvm.
  ASSERT_TRUE(WriteFileAtomic(frag, "CONFIG_VIRTIO_BLK=y\nCONFIG_KVM_AMD=y\nCONFIG_UNIX=y\n").ok());
  KernelSpec spec;
  spec.features = {frag.string()};
  auto r = EnsureKernel(spec, Env());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("2 requested kernel option(s) did not survive"), std::string::npos)
      << r.message();
  EXPECT_NE(r.message().find("bad.config:1: CONFIG_VIRTIO_BLK=y -> not set"), std::string::npos)
      << r.message();
  EXPECT_NE(r.message().find("bad.config:2: CONFIG_KVM_AMD=y -> not set"), std::string::npos)
      << r.message();
}

// Every fragment shipped in kernel-configs/, on top of microvm, survives the real Kconfig: the
// build runs tinyconfig, olddefconfig and the verification, and is stopped where compiling
// would start (a make wrapper refuses "bzImage"), so no fragment can silently lose an option.
TEST(KernelE2E, EveryShippedFragmentSurvivesKconfig) {
  ASSERT_TRUE(HaveSource()) << kDefaultKernelSource << " missing (scripts/install-deps.sh)";
  KernelBuildEnv env = Env();
  env.make = {"/bin/sh", "-c",
              "for a; do t=$a; done; "
              "if [ \"$t\" = bzImage ]; then echo ARROW-CONFIGURED-ONLY; exit 3; fi; "
              "exec make \"$@\"",
              "make"};
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(env.configs_dir))
    if (e.path().extension() == ".config" && e.path().stem() != "microvm")
      names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  EXPECT_GE(names.size(), 6u) << "kernel-configs/ lost fragments";
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    KernelSpec spec;
    spec.features = {name};
    auto cached = FindCachedKernel(spec, env);
    ASSERT_TRUE(cached.ok()) << cached.message();
    if (*cached) continue;  // built (and so verified) before: nothing left to prove
    auto r = EnsureKernel(spec, env);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("ARROW-CONFIGURED-ONLY"), std::string::npos) << r.message();
    EXPECT_EQ(r.message().find("did not survive"), std::string::npos) << r.message();
  }
}

// Static /init: prints a line with the guest's uptime, then exits through the debug-exit port.
constexpr const char* kInit = R"(#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <unistd.h>
int main(void) {
  char up[64] = "?";
  mount("proc", "/proc", "proc", 0, 0);
  FILE* f = fopen("/proc/uptime", "r");
  if (f) { if (!fgets(up, sizeof up, f)) up[0] = 0; fclose(f); }
  up[strcspn(up, "\n")] = 0;
  printf("ARROW-KERNEL-E2E uptime %s\n", up);
  fflush(stdout);
  if (ioperm(0xf4, 1, 1) == 0) outb(3, 0xf4);
  for (;;) pause();
}
)";

TEST(KernelE2E, MicrovmKernelBuildsAndBootsUnderQemu) {
  ASSERT_TRUE(HaveSource()) << kDefaultKernelSource << " missing (scripts/install-deps.sh)";
  KernelSpec spec;
  KernelBuildEnv env = Env();
  auto k = EnsureKernel(spec, env);
  ASSERT_TRUE(k.ok()) << k.message();
  EXPECT_LE(fs::file_size(k->bzimage), 1536u * 1024) << "tuned bzImage over 1.5 MB";

  auto tmp = TempDir::Create("arrow-kboot");
  ASSERT_TRUE(tmp.ok());
  const fs::path d = tmp->path();
  ASSERT_TRUE(WriteFileAtomic(d / "init.c", kInit).ok());
  fs::create_directories(d / "root/proc");
  auto cc = CaptureCommand(
      {"gcc", "-static", "-Os", "-o", (d / "root/init").string(), (d / "init.c").string()});
  ASSERT_TRUE(cc.ok()) << cc.message();
  auto pack =
      CaptureCommand({"sh", "-c",
                      "cd " + (d / "root").string() +
                          " && find . | cpio -o -H newc --quiet | zstd -19 -q > ../initrd"});
  ASSERT_TRUE(pack.ok()) << pack.message();
  std::string out;
  CommandOptions o;
  o.on_line = [&](std::string_view l) { out.append(l).push_back('\n'); };
  auto rc =
      RunCommand({"timeout", "120", "qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", "128",
                  "-nographic", "-no-reboot", "-kernel", k->bzimage.string(), "-initrd",
                  (d / "initrd").string(), "-append", "console=ttyS0 quiet panic=-1 reboot=t",
                  "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"},
                 o);
  ASSERT_TRUE(rc.ok()) << rc.message();
  EXPECT_EQ(*rc, 7) << out;  // (3 << 1) | 1
  EXPECT_NE(out.find("ARROW-KERNEL-E2E uptime"), std::string::npos) << out;

  // The same kernel's stripped vmlinux boots on qemu's microvm through its PVH note.
  ASSERT_FALSE(k->vmlinux_zst.empty());
  auto unz = CaptureCommand({"zstd", "-d", "-q", "-f", k->vmlinux_zst.string(), "-o", (d / "vmlinux").string()});
  ASSERT_TRUE(unz.ok()) << unz.message();
  out.clear();
  rc = RunCommand({"timeout", "120", "qemu-system-x86_64", "-accel", "tcg", "-M", "microvm,acpi=off",
                   "-m", "128", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
                   "-no-reboot", "-kernel", (d / "vmlinux").string(), "-initrd", (d / "initrd").string(),
                   "-append", "console=ttyS0 quiet panic=-1 reboot=t",
                   "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"},
                  o);
  ASSERT_TRUE(rc.ok()) << rc.message();
  EXPECT_EQ(*rc, 7) << out;
  EXPECT_NE(out.find("ARROW-KERNEL-E2E uptime"), std::string::npos) << out;
}

}  // namespace
}  // namespace arrow::builder
