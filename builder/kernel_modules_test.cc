#include "builder/kernel_modules.h"

#include <gtest/gtest.h>

#include "builder/command.h"
#include "common/file_util.h"

namespace arrow::builder {
namespace fs = std::filesystem;
namespace {

class KernelModules : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("arrow-modules-test");
    ASSERT_TRUE(t.ok()) << t.message();
    tmp_.emplace(std::move(*t));
    dir_ = tmp_->path() / "lib/modules/6.1.0-test";
    fs::create_directories(dir_);
    // modules.dep as depmod writes it: each module with its full transitive dependency list.
    Write("modules.dep",
          "kernel/arch/x86/kvm/kvm-amd.ko.xz: kernel/arch/x86/kvm/kvm.ko.xz "
          "kernel/virt/lib/irqbypass.ko.xz "
          "kernel/drivers/crypto/ccp/ccp.ko.xz\n"
          "kernel/arch/x86/kvm/kvm.ko.xz: kernel/virt/lib/irqbypass.ko.xz\n"
          "kernel/virt/lib/irqbypass.ko.xz:\n"
          "kernel/drivers/crypto/ccp/ccp.ko.xz:\n"
          "kernel/drivers/net/virtio_net.ko.zst: kernel/drivers/net/net_failover.ko "
          "kernel/net/core/failover.ko\n"
          "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
          "kernel/net/core/failover.ko:\n");
    Write("modules.builtin", "kernel/drivers/virtio/virtio_mmio.ko\n");
    Write("modules.alias", "alias virtio:d00000001v* virtio_net\nalias fs-foo foo_missing\n");
  }
  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(WriteFileAtomic(dir_ / name, text).ok());
  }
  std::vector<std::string> Order(const ModuleSet& s) {
    std::vector<std::string> v;
    for (const auto& m : s.load_order) v.push_back(m.name);
    return v;
  }
  std::optional<TempDir> tmp_;
  fs::path dir_;
};

TEST_F(KernelModules, CanonicalNames) {
  EXPECT_EQ(CanonicalModuleName("kernel/arch/x86/kvm/kvm-amd.ko.zst"), "kvm_amd");
  EXPECT_EQ(CanonicalModuleName("virtio-net"), "virtio_net");
  EXPECT_EQ(CanonicalModuleName("kvm_amd"), "kvm_amd");
}

TEST_F(KernelModules, DependenciesFirstEachOnce) {
  auto r = ResolveModules(dir_, {"kvm-amd", "kvm_amd", "kvm"});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(Order(*r), (std::vector<std::string>{"irqbypass", "kvm", "ccp", "kvm_amd"}));
  EXPECT_EQ(r->load_order[3].path, dir_ / "kernel/arch/x86/kvm/kvm-amd.ko.xz");
  EXPECT_EQ(r->load_order[3].compression, ModuleCompression::kXz);
  EXPECT_EQ(r->load_order[3].packed_relative, "kernel/arch/x86/kvm/kvm-amd.ko");
}

TEST_F(KernelModules, SharedDependencyLoadedOnceAcrossRequests) {
  auto r = ResolveModules(dir_, {"virtio_net", "net-failover"});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(Order(*r), (std::vector<std::string>{"failover", "net_failover", "virtio_net"}));
  EXPECT_EQ(r->load_order[2].compression, ModuleCompression::kZstd);
}

TEST_F(KernelModules, BuiltinAndAliasNames) {
  auto r = ResolveModules(dir_, {"virtio-mmio", "virtio:d00000001v00001AF4"});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->builtin, std::vector<std::string>{"virtio_mmio"});
  EXPECT_EQ(Order(*r), (std::vector<std::string>{"failover", "net_failover", "virtio_net"}));
}

TEST_F(KernelModules, ReportsAllMissingAtOnce) {
  auto r = ResolveModules(dir_, {"kvm", "nope", "fs-foo"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), dir_.string() +
                             ": kernel module(s) not found: nope, fs-foo "
                             "(not in modules.dep, modules.builtin or modules.alias)");
}

TEST_F(KernelModules, DependencyCycleIsAnError) {
  Write("modules.dep", "a.ko: b.ko\nb.ko: a.ko\n");
  auto r = ResolveModules(dir_, {"a"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("dependency cycle"), std::string::npos) << r.message();
}

TEST_F(KernelModules, DecompressesXzAndZstdModules) {
  const std::string elf =
      "\x7f"
      "ELF fake module bytes";
  for (auto [tool, ext] : {std::pair{"xz", ".xz"}, std::pair{"zstd", ".zst"}}) {
    fs::path plain = tmp_->path() / "m.ko";
    ASSERT_TRUE(WriteFileAtomic(plain, elf).ok());
    auto rc = RunCommand({tool, "-qf", plain.string()});  // writes m.ko.xz / m.ko.zst
    if (!rc.ok() || *rc != 0) GTEST_SKIP() << tool << " not installed";
    fs::remove(plain);
    ModuleFile m;
    m.path = tmp_->path() / (std::string("m.ko") + ext);
    m.compression = std::string(ext) == ".xz" ? ModuleCompression::kXz : ModuleCompression::kZstd;
    fs::path out = tmp_->path() / "out.ko";
    auto st = DecompressModule(m, out);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(*ReadFile(out), elf);
    fs::remove(m.path);
  }
}

TEST_F(KernelModules, ResolvesTheHostKernelsKvmAmd) {
  fs::path host = "/lib/modules";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(host, ec)) {
    if (!fs::exists(e.path() / "modules.dep")) continue;
    auto r = ResolveModules(e.path(), {"kvm-amd"});
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_GE(r->load_order.size(), 2u);
    EXPECT_EQ(r->load_order.back().name, "kvm_amd");
    for (const auto& m : r->load_order) EXPECT_TRUE(fs::exists(m.path)) << m.path;
    return;
  }
  GTEST_SKIP() << "no /lib/modules/*/modules.dep on this machine";
}

}  // namespace
}  // namespace arrow::builder
