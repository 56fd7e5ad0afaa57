#include "registry/reference.h"

#include <gtest/gtest.h>

namespace arrow::registry {
namespace {

Reference P(const std::string& s) {
  auto r = ParseReference(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.message();
  return r.ok() ? *r : Reference{};
}

TEST(Reference, DockerHubDefaults) {
  Reference r = P("hello");
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.repository, "library/hello");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.ApiHost(), "registry-1.docker.io");
  EXPECT_EQ(P("team/app:1.2").repository, "team/app");
  EXPECT_EQ(P("index.docker.io/hello").String(), "docker.io/library/hello:latest");
  EXPECT_EQ(P("docker.io/team/app").String(), "docker.io/team/app:latest");
}

TEST(Reference, HostPortPathTag) {
  Reference r = P("127.0.0.1:5000/team/app:1.2");
  EXPECT_EQ(r.registry, "127.0.0.1:5000");
  EXPECT_EQ(r.repository, "team/app");
  EXPECT_EQ(r.tag, "1.2");
  EXPECT_TRUE(r.IsLoopback());
  EXPECT_EQ(r.ApiHost(), "127.0.0.1:5000");
  EXPECT_EQ(P("localhost/app").registry, "localhost");
  EXPECT_TRUE(P("localhost:5000/app").IsLoopback());
  EXPECT_TRUE(P("[::1]:5000/app").IsLoopback());
  EXPECT_FALSE(P("ghcr.io/o/app").IsLoopback());
  EXPECT_EQ(P("ghcr.io/o/app").Target(), "latest");
  EXPECT_EQ(P("docker://ghcr.io/o/app:2").String(), "ghcr.io/o/app:2");
}

TEST(Reference, Digest) {
  std::string d = "sha256:" + std::string(64, 'a');
  Reference r = P("ghcr.io/o/app@" + d);
  EXPECT_EQ(r.digest, d);
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.Target(), d);
  Reference both = P("ghcr.io/o/app:1@" + d);
  EXPECT_EQ(both.tag, "1");
  EXPECT_EQ(both.Target(), d);
  EXPECT_EQ(both.String(), "ghcr.io/o/app:1@" + d);
}

TEST(Reference, Errors) {
  auto r = ParseReference("ghcr.io/Team/app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.message(),
      "invalid image reference 'ghcr.io/Team/app': path component 'Team' must be lowercase letters "
      "and digits separated by '.', '_', '__' or '-' (expected "
      "[host[:port]/]path[:tag][@sha256:<hex>])");
  EXPECT_FALSE(ParseReference("").ok());
  EXPECT_FALSE(ParseReference("app@sha256:abc").ok());
  EXPECT_FALSE(ParseReference("app:-bad").ok());
  EXPECT_FALSE(ParseReference("host:port/app").ok());
  EXPECT_FALSE(ParseReference("a//b").ok());
  EXPECT_FALSE(ParseReference("ghcr.io/").ok());
  EXPECT_FALSE(ParseReference("app_/x").ok());
}

}  // namespace
}  // namespace arrow::registry
