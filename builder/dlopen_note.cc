// FDO dlopen notes; see dlopen_note.h.
#include "builder/dlopen_note.h"

#include <cstring>

#include <nlohmann/json.hpp>

namespace arrow::builder {
namespace {

uint32_t Le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // x86-64 (the only machine Arrow builds for) is little-endian
  return v;
}

uint64_t Pad(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

Result<DlopenDep> Entry(const nlohmann::json& j, std::string_view name) {
  if (!j.is_object()) return Err(name, ": .note.dlopen: an entry is not a JSON object");
  DlopenDep d;
  for (const auto& [key, v] : j.items()) {
    if (key == "soname") {
      if (!v.is_array() || v.empty()) return Err(name, ": .note.dlopen: 'soname' must be a non-empty array of strings");
      for (const auto& s : v) {
        if (!s.is_string() || s.get<std::string>().empty() || s.get<std::string>().find('/') != std::string::npos)
          return Err(name, ": .note.dlopen: 'soname' entries are file names like libfoo.so.1");
        d.sonames.push_back(s.get<std::string>());
      }
    } else if (key == "feature" || key == "description" || key == "priority") {
      if (!v.is_string()) return Err(name, ": .note.dlopen: '", key, "' must be a string");
      (key == "feature" ? d.feature : key == "description" ? d.description : d.priority) = v.get<std::string>();
    }  // other keys: newer revisions of the format may add some
  }
  if (d.sonames.empty()) return Err(name, ": .note.dlopen: an entry has no 'soname'");
  if (d.priority != "required" && d.priority != "recommended" && d.priority != "suggested")
    return Err(name, ": .note.dlopen: priority '", d.priority, "' is not required, recommended or suggested");
  return d;
}

}  // namespace

Result<std::vector<DlopenDep>> ParseDlopenJson(std::string_view desc, std::string_view name) {
  if (desc.size() > kMaxDlopenNoteBytes)
    return Err(name, ": .note.dlopen: ", std::to_string(desc.size()), " bytes (more than ",
               std::to_string(kMaxDlopenNoteBytes), ")");
  const size_t nul = desc.find('\0');
  if (nul == std::string_view::npos) return Err(name, ": .note.dlopen: the JSON is not NUL-terminated");
  if (desc.find_first_not_of('\0', nul) != std::string_view::npos)
    return Err(name, ": .note.dlopen: bytes after the JSON's terminating NUL");
  const auto j = nlohmann::json::parse(desc.substr(0, nul), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Err(name, ": .note.dlopen: malformed JSON");
  std::vector<DlopenDep> out;
  if (j.is_object()) {  // the older single-object form
    auto e = Entry(j, name);
    if (!e) return e.error();
    out.push_back(std::move(*e));
    return out;
  }
  if (!j.is_array()) return Err(name, ": .note.dlopen: the JSON is neither an array nor an object");
  for (const auto& item : j) {
    auto e = Entry(item, name);
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<DlopenDep>> ParseDlopenNotes(std::string_view seg, uint64_t align, std::string_view name) {
  if (align > 1 && align != 4 && align != 8)
    return Err(name, ": PT_NOTE alignment ", std::to_string(align), " (notes are 4- or 8-byte aligned)");
  const uint64_t a = align == 8 ? 8 : 4;
  std::vector<DlopenDep> out;
  uint64_t off = 0;
  while (off < seg.size()) {
    if (seg.size() - off < 12) return Err(name, ": a note header runs past its PT_NOTE segment");
    const uint64_t namesz = Le32(seg.data() + off), descsz = Le32(seg.data() + off + 4);
    const uint32_t type = Le32(seg.data() + off + 8);
    // As glibc lays them out: the descriptor at the header plus name rounded up to the alignment.
    const uint64_t name_at = off + 12, desc_at = off + Pad(12 + namesz, a), end = desc_at + Pad(descsz, a);
    if (name_at + namesz > seg.size() || desc_at > seg.size() || desc_at + descsz > seg.size())
      return Err(name, ": a note runs past its PT_NOTE segment");
    if (type == kNoteDlopenType && namesz == 4 && std::memcmp(seg.data() + name_at, "FDO", 4) == 0) {
      auto deps = ParseDlopenJson(seg.substr(desc_at, descsz), name);
      if (!deps) return deps.error();
      out.insert(out.end(), deps->begin(), deps->end());
    }
    off = end;  // the last note's padding may be cut by the segment's end
  }
  return out;
}

}  // namespace arrow::builder
