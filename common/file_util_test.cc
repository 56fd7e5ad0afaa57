#include "common/file_util.h"

#include <gtest/gtest.h>

namespace arrow {
namespace fs = std::filesystem;

TEST(AtomicFile, NothingVisibleUntilCommit) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.message();
  fs::path dest = dir->path() / "out.bin";
  {
    auto f = AtomicFile::Create(dest);
    ASSERT_TRUE(f.ok()) << f.message();
    ASSERT_TRUE(f->Write("half").ok());
    EXPECT_FALSE(fs::exists(dest));
    // destroyed without Commit: the temporary disappears too
  }
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_TRUE(fs::is_empty(dir->path()));
  ASSERT_TRUE(WriteFileAtomic(dest, "whole").ok());
  auto back = ReadFile(dest);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "whole");
}

TEST(ReadFile, MissingFileNamesPath) {
  auto r = ReadFile("/nonexistent/arrow-test");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("/nonexistent/arrow-test: cannot open"), std::string::npos);
}

}  // namespace arrow
