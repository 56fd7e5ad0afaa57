#include "registry/credentials.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/file_util.h"

namespace arrow::registry {
namespace {

TEST(Base64, RoundTrip) {
  for (std::string s : {"", "a", "ab", "abc", "user:pa:ss", "\xff\x00z"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("alice:secret"), "YWxpY2U6c2VjcmV0");
  EXPECT_FALSE(Base64Decode("abc").ok());
}

TEST(DockerConfig, AuthField) {
  auto c = CredentialsFromDockerConfig(
      R"({"auths":{"127.0.0.1:5000":{"auth":"YWxpY2U6c2VjcmV0"}}})", "127.0.0.1:5000", "cfg");
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.password, "secret");
  EXPECT_EQ(c.source, "cfg");
}

TEST(DockerConfig, UsernamePasswordAndSchemeKeys) {
  auto c = CredentialsFromDockerConfig(
      R"({"auths":{"https://ghcr.io/v2/":{"username":"u","password":"p"}}})", "ghcr.io", "cfg");
  EXPECT_EQ(c.username, "u");
  EXPECT_EQ(c.password, "p");
  auto hub = CredentialsFromDockerConfig(
      R"({"auths":{"https://index.docker.io/v1/":{"auth":"YTpi"}}})", "docker.io", "cfg");
  EXPECT_EQ(hub.username, "a");
  EXPECT_TRUE(
      CredentialsFromDockerConfig(R"({"auths":{"other.io":{"auth":"YTpi"}}})", "ghcr.io", "cfg")
          .empty());
}

TEST(DockerConfig, HelpersAndGarbage) {
  auto c = CredentialsFromDockerConfig(R"({"credsStore":"desktop"})", "ghcr.io", "cfg");
  EXPECT_TRUE(c.empty());
  EXPECT_NE(c.note.find("docker-credential-desktop"), std::string::npos);
  EXPECT_TRUE(CredentialsFromDockerConfig("{", "x.io", "cfg").empty());
  EXPECT_TRUE(
      CredentialsFromDockerConfig(R"({"auths":{"x.io":{"auth":"!!!!"}}})", "x.io", "cfg").empty());
  EXPECT_TRUE(CredentialsFromDockerConfig(R"({"auths":[1,2]})", "x.io", "cfg").empty());
}

TEST(FindCredentials, EnvThenDockerConfigDir) {
  auto dir = TempDir::Create("arrow-creds");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(WriteFileAtomic(dir->path() / "config.json",
                              R"({"auths":{"r.example:5000":{"auth":"YWxpY2U6c2VjcmV0"}}})")
                  .ok());
  setenv("DOCKER_CONFIG", dir->path().c_str(), 1);
  unsetenv("ARROW_REGISTRY_USERNAME");
  auto c = FindCredentials("r.example:5000");
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.source, (dir->path() / "config.json").string());
  setenv("ARROW_REGISTRY_USERNAME", "bob", 1);
  setenv("ARROW_REGISTRY_PASSWORD", "pw", 1);
  c = FindCredentials("r.example:5000");
  EXPECT_EQ(c.username, "bob");
  EXPECT_EQ(c.password, "pw");
  unsetenv("ARROW_REGISTRY_USERNAME");
  unsetenv("ARROW_REGISTRY_PASSWORD");
  unsetenv("DOCKER_CONFIG");
}

}  // namespace
}  // namespace arrow::registry
