#include <gtest/gtest.h>

#include "registry/client.h"

namespace arrow::registry {
namespace {

ErrorContext Ctx() {
  return {"PUT blob", "registry r.io, repository team/app", "r.io", "team/app", "", true, 1};
}

HttpResponse Resp(long status, std::string body = "") {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(HttpStatusError, Messages) {
  auto c = Ctx();
  EXPECT_EQ(HttpStatusError(Resp(401), c).message(),
            "PUT blob: registry r.io, repository team/app: authentication required (HTTP 401); set "
            "ARROW_REGISTRY_USERNAME/ARROW_REGISTRY_PASSWORD or add the registry to "
            "~/.docker/config.json");
  c.creds_source = "ARROW_REGISTRY_USERNAME/ARROW_REGISTRY_PASSWORD";
  EXPECT_EQ(
      HttpStatusError(
          Resp(
              403,
              R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})"),
          c)
          .message(),
      "PUT blob: registry r.io, repository team/app: access denied (HTTP 403) [DENIED: requested "
      "access "
      "to the resource is denied]; the account from "
      "ARROW_REGISTRY_USERNAME/ARROW_REGISTRY_PASSWORD lacks "
      "push permission on this repository");
  EXPECT_EQ(HttpStatusError(Resp(404), c).message(),
            "PUT blob: registry r.io, repository team/app: not found (HTTP 404); check the "
            "repository name and "
            "tag (`skopeo list-tags docker://r.io/team/app` lists the tags)");
  EXPECT_EQ(HttpStatusError(Resp(413, "<html>too big</html>"), c).message(),
            "PUT blob: registry r.io, repository team/app: the registry refused the upload as too "
            "large (HTTP "
            "413); lower --chunk-size or raise the body size limit of the registry or its proxy "
            "(e.g. nginx "
            "client_max_body_size)");
  c.attempts = 5;
  EXPECT_EQ(
      HttpStatusError(Resp(503), c).message(),
      "PUT blob: registry r.io, repository team/app: the registry failed with HTTP 503 (after 5 "
      "attempts); try again later");
  EXPECT_EQ(HttpStatusError(Resp(418), c).message(),
            "PUT blob: registry r.io, repository team/app: unexpected HTTP 418");
}

TEST(RegistryErrorDetail, Forms) {
  EXPECT_EQ(RegistryErrorDetail(R"({"errors":[{"code":"BLOB_UNKNOWN"}]})"), "BLOB_UNKNOWN");
  EXPECT_EQ(RegistryErrorDetail(R"({"errors":[{"code":5,"message":"m"}]})"), "m");
  EXPECT_EQ(RegistryErrorDetail("{}"), "");
  EXPECT_EQ(RegistryErrorDetail("nope"), "");
  EXPECT_EQ(RegistryErrorDetail(R"({"errors":"x"})"), "");
}

}  // namespace
}  // namespace arrow::registry
