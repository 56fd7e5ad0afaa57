// ReadInitramfs: an initramfs (zstd frames or plain cpio) back into CpioEntry values.
//
// Used by tests, `arrow inspect` and the fuzzer, so it treats its input as hostile: the zstd
// output is capped (a few bytes can claim gigabytes), every libarchive call is checked, and
// anything that is not a file, directory, symlink or char device is an error. newc stores a
// hardlink set's data once (on the last member); the reader gives every member that content.
#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>

#include "common/file_util.h"
#include "packer/archive_error.h"
#include "packer/initramfs.h"
#include "packer/zstd_writer.h"

namespace arrow::packer {
namespace {

struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
bool IsZstd(const std::string& b) {
  return b.size() >= 4 && static_cast<unsigned char>(b[0]) == 0x28 &&
         static_cast<unsigned char>(b[1]) == 0xb5 && static_cast<unsigned char>(b[2]) == 0x2f &&
         static_cast<unsigned char>(b[3]) == 0xfd;
}

Result<std::vector<CpioEntry>> ParseCpio(const std::string& cpio) {
  std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
  if (!a) return Err("out of memory");
  archive_read_support_format_cpio(a.get());
  archive_read_support_filter_none(a.get());
  if (archive_read_open_memory(a.get(), cpio.data(), cpio.size()) != ARCHIVE_OK)
    return Err("not a cpio archive: ", ArchiveError(a.get()));
  std::vector<CpioEntry> out;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    const char* name = (r == ARCHIVE_OK || r == ARCHIVE_WARN) ? archive_entry_pathname(e) : nullptr;
    std::string where = "cpio entry " + std::to_string(out.size()) +
                        (name ? " '" + std::string(name) + "'" : std::string());
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return Err(where, ": ", ArchiveError(a.get()));
    if (name == nullptr) return Err(where, ": entry has no name");
    CpioEntry c;
    c.path = name;
    c.mode = archive_entry_perm(e) & 07777;
    c.ino = static_cast<uint64_t>(archive_entry_ino64(e));
    c.nlink = archive_entry_nlink(e);
    c.mtime = archive_entry_mtime(e);
    switch (archive_entry_filetype(e)) {
      case AE_IFREG: c.type = CpioEntry::Type::kFile; break;
      case AE_IFDIR: c.type = CpioEntry::Type::kDirectory; break;
      case AE_IFLNK: {
        c.type = CpioEntry::Type::kSymlink;
        const char* t = archive_entry_symlink(e);
        c.link_target = t ? t : "";
        break;
      }
      case AE_IFCHR:
        c.type = CpioEntry::Type::kCharDevice;
        c.rdev_major = archive_entry_rdevmajor(e);
        c.rdev_minor = archive_entry_rdevminor(e);
        break;
      default: return Err(where, ": unsupported file type");
    }
    if (c.type == CpioEntry::Type::kFile) {
      la_int64_t size = archive_entry_size(e);
      if (size < 0 || static_cast<uint64_t>(size) > cpio.size())
        return Err(where, ": size ", std::to_string(size), " exceeds the archive");
      c.data.resize(static_cast<size_t>(size));
      size_t got = 0;
      while (got < c.data.size()) {
        la_ssize_t n = archive_read_data(a.get(), c.data.data() + got, c.data.size() - got);
        if (n < 0) return Err(where, ": ", ArchiveError(a.get()));
        if (n == 0) return Err(where, ": truncated data");
        got += static_cast<size_t>(n);
      }
      c.size = c.data.size();
    }
    out.push_back(std::move(c));
  }
  // A hardlink set's content sits on one member (newc: the last); share it with the others.
  std::map<uint64_t, size_t> with_data;
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].type == CpioEntry::Type::kFile && out[i].nlink > 1 && out[i].size > 0)
      with_data[out[i].ino] = i;
  for (auto& c : out) {
    if (c.type != CpioEntry::Type::kFile || c.nlink <= 1 || c.size > 0) continue;
    auto it = with_data.find(c.ino);
    if (it == with_data.end()) continue;
    c.data = out[it->second].data;
    c.size = c.data.size();
  }
  return out;
}

}  // namespace

Result<std::vector<CpioEntry>> ReadInitramfsMemory(const std::string& bytes,
                                                   uint64_t max_uncompressed_bytes) {
  if (!IsZstd(bytes)) {
    if (bytes.size() > max_uncompressed_bytes)
      return Err("cpio archive exceeds the limit of ", std::to_string(max_uncompressed_bytes), " bytes");
    return ParseCpio(bytes);
  }
  auto cpio = ZstdDecompress(bytes, max_uncompressed_bytes);
  if (!cpio.ok()) return cpio.error();
  return ParseCpio(*cpio);
}

Result<std::vector<CpioEntry>> ReadInitramfsMemory(const std::string& bytes) {
  return ReadInitramfsMemory(bytes, kMaxInitramfsBytes);
}

Result<std::vector<CpioEntry>> ReadInitramfs(const std::filesystem::path& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.error();
  auto r = ReadInitramfsMemory(*bytes);
  if (!r.ok()) return Err(path.string(), ": ", r.message());
  return r;
}

}  // namespace arrow::packer
