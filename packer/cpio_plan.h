// Plans a reproducible cpio archive: the step between a list of CpioEntry and the bytes.
//
// Normalizes guest paths, rejects unsafe or duplicate ones, adds every missing parent
// directory (0755), sorts by path, stats host sources and groups those sharing dev+inode into
// hardlink sets, then assigns inode numbers in sorted order (a hardlink set shares the first
// member's number) and link counts. Everything the archive depends on is decided here, so the
// same input in any order yields the same plan.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "packer/initramfs.h"

namespace arrow::packer {

struct PlannedEntry {
  CpioEntry entry;
  uint64_t ino = 0;
  uint32_t nlink = 1;
  uint64_t size = 0;  // regular files: bytes of content (from stat or inline data)
};

Result<std::vector<PlannedEntry>> PlanCpio(std::vector<CpioEntry> entries);

// "usr//bin/" -> "usr/bin"; rejects empty, ".", ".." components. Errors name the path.
Result<std::string> NormalizeGuestPath(const std::string& path);

}  // namespace arrow::packer
