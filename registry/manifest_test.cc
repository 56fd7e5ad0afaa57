#include "registry/manifest.h"

#include <gtest/gtest.h>

#include "common/sha256.h"

namespace arrow::registry {
namespace {

FetchedManifest F(const std::string& raw) {
  return {raw, "application/vnd.oci.image.manifest.v1+json", Sha256Digest(raw)};
}

std::string D(char c) {
  return "sha256:" + std::string(64, c);
}

std::string Good() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.arrow.image.v1","config":{"mediaType":"application/vnd.arrow.config.v1+json","digest":")" +
         D('a') +
         R"(","size":10},"layers":[{"mediaType":"application/vnd.arrow.kernel.v1","digest":")" +
         D('b') + R"(","size":20}]})";
}

TEST(Manifest, Accepts) {
  auto m = CheckArrowManifest(F(Good()), "m");
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->config.digest, D('a'));
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 20u);
}

TEST(Manifest, Rejects) {
  EXPECT_EQ(CheckArrowManifest(F("{\"schemaVersion\":2,"), "m").message(),
            "m: malformed JSON from the registry");
  EXPECT_EQ(CheckArrowManifest(F("[]"), "m").message(), "m: JSON is not an object");
  EXPECT_FALSE(
      CheckArrowManifest(
          F(R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"})"),
          "m")
          .ok());
  std::string g = Good();
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = g;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  auto not_arrow = CheckArrowManifest(F(replace("application/vnd.arrow.image.v1", "x")), "m");
  EXPECT_NE(not_arrow.message().find("not an Arrow image"), std::string::npos);
  EXPECT_FALSE(CheckArrowManifest(F(replace("\"size\":20", "\"size\":-1")), "m").ok());
  EXPECT_FALSE(CheckArrowManifest(F(replace("\"size\":20", "\"size\":\"20\"")), "m").ok());
  EXPECT_FALSE(CheckArrowManifest(F(replace(D('b'), "sha256:../../etc")), "m").ok());
  EXPECT_FALSE(CheckArrowManifest(F(replace("\"artifactType\":\"application/vnd.arrow.image.v1\"",
                                            "\"artifactType\":7")),
                                  "m")
                   .ok());
  EXPECT_FALSE(CheckArrowManifest(F(replace("\"size\":10", "\"size\":99999999999")), "m").ok());
  EXPECT_FALSE(CheckArrowManifest(F(replace("\"layers\":[", "\"layers\":{\"x\":[")), "m").ok());
}

}  // namespace
}  // namespace arrow::registry
