// ArchiveError: libarchive's last error message as a string, never null (archive_error_string
// returns NULL when libarchive set no message, which the fuzzer found in the cpio reader).
#pragma once

#include <archive.h>

#include <string>

namespace arrow::packer {

inline std::string ArchiveError(struct archive* a) {
  const char* m = a != nullptr ? archive_error_string(a) : nullptr;
  return m != nullptr ? m : "unknown libarchive error";
}

}  // namespace arrow::packer
