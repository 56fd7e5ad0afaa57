#include "registry/auth.h"

#include <gtest/gtest.h>

namespace arrow::registry {
namespace {

TEST(Challenge, Bearer) {
  auto c = ParseChallenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/hello:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].Param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].Param("service"), "registry.docker.io");
  EXPECT_EQ(c[0].Param("scope"), "repository:library/hello:pull");
}

TEST(Challenge, BasicAndSeveral) {
  auto c = ParseChallenges(
      R"(Basic realm="Registry Realm", Bearer realm=https://x/t, error="insufficient_scope")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].Param("realm"), "Registry Realm");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].Param("realm"), "https://x/t");
  EXPECT_EQ(c[1].Param("error"), "insufficient_scope");
}

TEST(Challenge, QuotedEscapesAndGarbage) {
  auto c = ParseChallenges(R"(Bearer realm="a\"b",scope="x,y")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].Param("realm"), "a\"b");
  EXPECT_EQ(c[0].Param("scope"), "x,y");
  ParseChallenges("=\"\"\\");  // must not crash
  ParseChallenges("Bearer realm=\"unterminated");
  EXPECT_TRUE(ParseChallenges("").empty());
}

TEST(TokenReply, Forms) {
  EXPECT_EQ(*ParseTokenReply(R"({"token":"abc"})"), "abc");
  EXPECT_EQ(*ParseTokenReply(R"({"access_token":"xyz","expires_in":300})"), "xyz");
  EXPECT_EQ(ParseTokenReply("{}").message(), "token reply has neither 'token' nor 'access_token'");
  EXPECT_FALSE(ParseTokenReply("not json").ok());
  EXPECT_FALSE(ParseTokenReply(R"({"token":5})").ok());
}

TEST(UrlEscape, Query) {
  EXPECT_EQ(UrlEscape("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
}

}  // namespace
}  // namespace arrow::registry
