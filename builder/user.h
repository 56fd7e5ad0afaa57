// The recipe's [app] user as numeric ids, resolved against the build root's /etc/passwd and
// /etc/group the way a container image's USER is resolved against the image's own files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::builder {

struct UserIds {
  uint32_t uid = 0, gid = 0;
};

// "999", "999:999", "postgres", "postgres:ssl-cert", "999:ssl-cert". A name without a group
// takes the user's primary group from passwd; a bare UID not in passwd gets GID = UID.
Result<UserIds> ResolveUser(const std::filesystem::path& sysroot, const std::string& spec);

struct Accounts {
  std::string passwd, group;  // whole files, sorted by id
};

// /etc/passwd and /etc/group holding just root and these ids: the build root's lines for them
// (group member lists emptied), a synthesized "u<uid>" / "g<gid>" line for an id it lacks.
Accounts AccountsFor(const std::filesystem::path& sysroot, const std::vector<UserIds>& ids);

}  // namespace arrow::builder
