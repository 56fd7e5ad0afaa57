// [app] user against a build root's passwd and group files.
#include "builder/user.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/file_util.h"

namespace arrow::builder {
namespace {

class UserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("user-test");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    std::filesystem::create_directories(dir_->path() / "etc");
    ASSERT_TRUE(WriteFileAtomic(dir_->path() / "etc/passwd",
                                "root:x:0:0:root:/root:/bin/sh\n"
                                "postgres:x:104:110:PostgreSQL:/var/lib/postgresql:/bin/bash\n")
                    .ok());
    ASSERT_TRUE(WriteFileAtomic(dir_->path() / "etc/group", "root:x:0:\nssl-cert:x:109:postgres\npostgres:x:110:\n").ok());
  }
  Result<UserIds> R(const std::string& spec) { return ResolveUser(dir_->path(), spec); }
  std::optional<TempDir> dir_;
};

TEST_F(UserTest, NamesAndNumbers) {
  auto u = R("postgres");
  ASSERT_TRUE(u.ok()) << u.message();
  EXPECT_EQ(u->uid, 104u);
  EXPECT_EQ(u->gid, 110u);  // the primary group from passwd
  u = R("postgres:ssl-cert");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 109u);
  u = R("104");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 110u);  // a known UID keeps its primary group
  u = R("1000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);  // unknown UID: GID = UID
  u = R("1000:5");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 5u);
}

TEST_F(UserTest, UnknownNamesAreErrors) {
  EXPECT_NE(R("mysql").message().find("no user 'mysql' in"), std::string::npos);
  EXPECT_NE(R("postgres:wheel").message().find("no group 'wheel' in"), std::string::npos);
  EXPECT_NE(ResolveUser("/nonexistent", "postgres").message().find("cannot read /nonexistent/etc/passwd"),
            std::string::npos);
}


TEST_F(UserTest, AccountsHoldRootAndTheNeededIdsOnly) {
  Accounts a = AccountsFor(dir_->path(), {{104, 110}, {104, 109}, {2000, 2001}});
  EXPECT_EQ(a.passwd,
            "root:x:0:0:root:/root:/bin/sh\n"
            "postgres:x:104:110:PostgreSQL:/var/lib/postgresql:/bin/bash\n"
            "u2000:x:2000:2001::/:/usr/sbin/nologin\n");
  EXPECT_EQ(a.group, "root:x:0:\nssl-cert:x:109:\npostgres:x:110:\ng2001:x:2001:\n");  // members dropped
  Accounts only_root = AccountsFor(dir_->path(), {});
  EXPECT_EQ(only_root.passwd, "root:x:0:0:root:/root:/bin/sh\n");
  Accounts no_files = AccountsFor("/nonexistent", {{5, 5}});
  EXPECT_EQ(no_files.passwd, "u0:x:0:0::/:/usr/sbin/nologin\nu5:x:5:5::/:/usr/sbin/nologin\n");
}

}  // namespace
}  // namespace arrow::builder
