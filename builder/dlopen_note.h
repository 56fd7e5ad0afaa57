// The FDO ELF dlopen metadata: a note (owner "FDO", type 0x407c0c0a, conventionally in section
// .note.dlopen) whose descriptor is a NUL-terminated JSON array of
//   { "feature": ..., "description": ..., "priority": "required"|"recommended"|"suggested",
//     "soname": ["libfoo.so.1", ...] }
// naming the libraries a program may dlopen(). The older form, one such object instead of an
// array, is accepted too. Read from the PT_NOTE segments, so section headers are not needed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace arrow::builder {

inline constexpr uint32_t kNoteDlopenType = 0x407c0c0a;
inline constexpr size_t kMaxDlopenNoteBytes = 64 * 1024;  // a larger descriptor is an error

struct DlopenDep {
  std::string feature;
  std::string description;
  std::string priority = "recommended";  // the default when a note says none
  std::vector<std::string> sonames;      // alternatives, most preferred first
};

// The dlopen entries of one note descriptor (the JSON, NUL-terminated, padding allowed).
Result<std::vector<DlopenDep>> ParseDlopenJson(std::string_view desc, std::string_view name);

// Every FDO dlopen entry in the notes of one PT_NOTE segment's bytes, laid out with `align`
// (0, 1 or 4: 4-byte padding; 8: 8-byte). Other notes are skipped; a note running past the
// segment, a bad alignment or a malformed dlopen note is an error naming `name`.
Result<std::vector<DlopenDep>> ParseDlopenNotes(std::string_view segment, uint64_t align, std::string_view name);

}  // namespace arrow::builder
