// The library API the CLI verbs build on (Push, InspectRemote, ResolveImage) against a real
// Debian docker-registry started on a free loopback port; skipped when it is not installed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/file_util.h"
#include "common/sha256.h"
#include "packer/arrow_file.h"
#include "registry/registry.h"

namespace arrow::registry {
namespace {
namespace fs = std::filesystem;

int FreePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

class RegistryApi : public ::testing::Test {
 protected:
  void SetUp() override {
    // scripts/install-deps.sh installs it: its absence is a failure, never a skip.
    ASSERT_TRUE(fs::exists("/usr/bin/docker-registry")) << "docker-registry not installed";
    dir_ = std::make_unique<TempDir>(std::move(TempDir::Create("arrow-regapi").value()));
    host_ = "127.0.0.1:" + std::to_string(FreePort());
    fs::path d = dir_->path();
    ASSERT_TRUE(WriteFileAtomic(d / "config.yml",
                                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                                "    rootdirectory: " +
                                    (d / "storage").string() + "\nhttp:\n  addr: " + host_ + "\n")
                    .ok());
    std::string cmd = "/usr/bin/docker-registry serve " + (d / "config.yml").string() + " >" +
                      (d / "log").string() + " 2>&1 & echo $! >" + (d / "pid").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    for (int i = 0; i < 100; ++i) {
      if (std::system(("curl -s -o /dev/null http://" + host_ + "/v2/").c_str()) == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    options_.cache_dir = d / "cache";
    options_.mtime = 1700000000;
    options_.progress = false;
    options_.backoff_ms = 10;
    options_.max_retries = 1;
  }
  void TearDown() override { StopRegistry(); }
  void StopRegistry() {
    if (!dir_) return;
    auto pid = ReadFile(dir_->path() / "pid");
    if (pid.ok() && !pid->empty()) std::system(("kill " + *pid + " 2>/dev/null").c_str());
  }
  fs::path MakeArrow() {
    fs::path d = dir_->path();
    std::string kernel(300000, 'k'), initramfs(120000, 'i');
    for (size_t i = 0; i < kernel.size(); ++i) kernel[i] = static_cast<char>(i * 7);
    EXPECT_TRUE(WriteFileAtomic(d / "vmlinuz", kernel).ok());
    EXPECT_TRUE(WriteFileAtomic(d / "initramfs", initramfs).ok());
    nlohmann::json config = {{"name", "t"}, {"version", "2.0"}, {"entrypoint", {"/bin/t"}}};
    auto digest =
        packer::WriteArrow(d / "t.arrow", config,
                           {{packer::kKernelMediaType, d / "vmlinuz", "vmlinuz"},
                            {packer::kInitramfsMediaType, d / "initramfs", "initramfs.cpio.zst"}},
                           {.mtime = 1700000000, .ref_name = "2.0"});
    EXPECT_TRUE(digest.ok());
    digest_ = digest.ok() ? *digest : "";
    return d / "t.arrow";
  }
  Reference Ref(const std::string& s) { return ParseReference(host_ + "/" + s).value(); }

  std::unique_ptr<TempDir> dir_;
  std::string host_, digest_;
  ClientOptions options_;
};

TEST_F(RegistryApi, PushInspectResolve) {
  fs::path arrow = MakeArrow();
  auto pushed = Push(arrow, Ref("t:1"), options_);
  ASSERT_TRUE(pushed.ok()) << pushed.message();
  EXPECT_EQ(pushed->manifest_digest, digest_);
  EXPECT_EQ(pushed->blobs_uploaded, 3);

  auto remote = InspectRemote(Ref("t:1"), options_);
  ASSERT_TRUE(remote.ok()) << remote.message();
  EXPECT_EQ(remote->manifest_digest, digest_);
  EXPECT_EQ(Sha256Digest(remote->manifest_raw), digest_);
  EXPECT_EQ(remote->config["name"], "t");
  EXPECT_FALSE(fs::exists(options_.cache_dir / "blobs")) << "inspect must not pull layers";

  auto same = ResolveImage(arrow.string(), options_);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, arrow);

  auto local = ResolveImage(host_ + "/t:1", options_);
  ASSERT_TRUE(local.ok()) << local.message();
  EXPECT_EQ(*local, options_.cache_dir / "arrows" / (digest_.substr(7) + ".arrow"));
  EXPECT_EQ(ReadFile(*local).value(), ReadFile(arrow).value())
      << "cached arrow differs from the pushed one";

  // Pinned by digest and cached: no registry needed any more.
  StopRegistry();
  auto pinned = ResolveImage(host_ + "/t@" + digest_, options_);
  ASSERT_TRUE(pinned.ok()) << pinned.message();
  EXPECT_EQ(*pinned, *local);
  auto by_tag = ResolveImage(host_ + "/t:1", options_);
  ASSERT_FALSE(by_tag.ok());
  EXPECT_NE(by_tag.message().find("cannot reach registry " + host_), std::string::npos)
      << by_tag.message();
}

TEST_F(RegistryApi, ResolveErrors) {
  auto missing = ResolveImage((dir_->path() / "nope.arrow").string(), options_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.message(), (dir_->path() / "nope.arrow").string() + ": no such file");
  auto bad = ResolveImage("Not A Ref", options_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("no such file, and not an image reference"), std::string::npos);
  auto unknown = ResolveImage(host_ + "/absent:1", options_);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("not found (HTTP 404)"), std::string::npos) << unknown.message();
}

}  // namespace
}  // namespace arrow::registry
