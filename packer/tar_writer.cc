// Reproducible ustar writing (see tar_writer.h).
#include "packer/archive_error.h"
#include "packer/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/sha256.h"

namespace arrow::packer {

Result<std::unique_ptr<TarWriter>> TarWriter::Create(const std::filesystem::path& dest,
                                                    int64_t mtime) {
  auto file = AtomicFile::Create(dest);
  if (!file.ok()) return file.error();
  std::unique_ptr<TarWriter> w(new TarWriter(std::move(file).value(), mtime));
  w->a_ = archive_write_new();
  if (w->a_ == nullptr) return Err(dest.string(), ": out of memory");
  if (archive_write_set_format_ustar(w->a_) != ARCHIVE_OK ||
      archive_write_add_filter_none(w->a_) != ARCHIVE_OK ||
      // End after the two zero blocks, as Go's archive/tar (skopeo, podman) does, instead of
      // padding the file to a 10 KiB tape record.
      archive_write_set_bytes_in_last_block(w->a_, 1) != ARCHIVE_OK ||
      archive_write_open2(w->a_, w.get(), nullptr, &TarWriter::WriteCallback, nullptr, nullptr) !=
          ARCHIVE_OK)
    return Err(dest.string(), ": cannot start tar archive: ", ArchiveError(w->a_));
  return w;
}

TarWriter::~TarWriter() {
  if (a_ != nullptr) archive_write_free(a_);
}

long TarWriter::WriteCallback(struct archive*, void* self, const void* buf, size_t n) {
  auto* w = static_cast<TarWriter*>(self);
  Status s = w->file_.Write(std::string_view(static_cast<const char*>(buf), n));
  if (!s.ok()) {
    if (w->io_status_.ok()) w->io_status_ = s;
    return -1;
  }
  return static_cast<long>(n);
}

Status TarWriter::Header(const std::string& name, bool dir, uint64_t size) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, dir ? 0755 : 0644);
  archive_entry_set_size(e, dir ? 0 : static_cast<la_int64_t>(size));
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  archive_entry_set_mtime(e, mtime_, 0);
  int r = archive_write_header(a_, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) {
    if (!io_status_.ok()) return Err("tar member ", name, ": ", io_status_.message());
    return Err("tar member ", name, ": ", ArchiveError(a_));
  }
  return Ok{};
}

Status TarWriter::Data(const std::string& name, const char* p, size_t n) {
  while (n > 0) {
    la_ssize_t w = archive_write_data(a_, p, n);
    if (w <= 0) {
      if (!io_status_.ok()) return Err("tar member ", name, ": ", io_status_.message());
      return Err("tar member ", name, ": ", ArchiveError(a_));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Ok{};
}

Status TarWriter::AddDirectory(const std::string& name) { return Header(name, true, 0); }

Status TarWriter::AddFile(const std::string& name, std::string_view data) {
  ARROW_TRY(Header(name, false, data.size()));
  return Data(name, data.data(), data.size());
}

Status TarWriter::AddFileFrom(const std::string& name, const std::filesystem::path& source,
                              uint64_t size, const std::string& sha256_hex) {
  int fd = open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(source.string(), ": cannot open: ", std::strerror(errno));
  Status s = Header(name, false, size);
  Sha256 hash;
  uint64_t done = 0;
  std::string buf(1 << 20, '\0');
  while (s.ok()) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = Err(source.string(), ": cannot read: ", std::strerror(errno));
      break;
    }
    if (n == 0) break;
    if (done + static_cast<uint64_t>(n) > size) {
      done += static_cast<uint64_t>(n);
      break;
    }
    hash.Update(buf.data(), static_cast<size_t>(n));
    s = Data(name, buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  close(fd);
  ARROW_TRY(s);
  if (done != size || hash.FinalHex() != sha256_hex)
    return Err(source.string(), ": changed while being packed (digest or size differs from ",
               std::to_string(size), " bytes sha256:", sha256_hex, ")");
  return Ok{};
}

Status TarWriter::Finish() {
  int r = archive_write_close(a_);
  if (r != ARCHIVE_OK) {
    if (!io_status_.ok()) return io_status_;
    return Err(file_.temp_path().string(), ": cannot finish tar: ", ArchiveError(a_));
  }
  if (!io_status_.ok()) return io_status_;
  return file_.Commit();
}

}  // namespace arrow::packer
