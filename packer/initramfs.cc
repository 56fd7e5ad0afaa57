// WriteInitramfs: the planned entries (cpio_plan.h) written as cpio "newc" by libarchive and
// streamed through zstd (zstd_writer.h) into a temp file that is renamed into place on success.
//
// Hardlinks go through libarchive's link resolver with the new-cpio strategy: every member of a
// set is written with size 0 except the last, which carries the data once. The resolver holds a
// set's members back until its last member arrives, so those members sit together at the last
// one's position: still deterministic, and still after their parent directories. The kernel
// (init/initramfs.c maybe_link) links each later member to the first and fills in the data.
#include "packer/archive_error.h"
#include "packer/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include "packer/cpio_plan.h"
#include "packer/zstd_writer.h"

namespace arrow::packer {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct ResolverDeleter {
  void operator()(archive_entry_linkresolver* r) const { archive_entry_linkresolver_free(r); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryDeleter>;

struct Sink {
  ZstdFileWriter* zstd;
  Status status;
};

la_ssize_t WriteCallback(archive*, void* client, const void* buf, size_t n) {
  auto* sink = static_cast<Sink*>(client);
  Status s = sink->zstd->Write(std::string_view(static_cast<const char*>(buf), n));
  if (!s.ok()) {
    if (sink->status.ok()) sink->status = s;
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

EntryPtr MakeEntry(const PlannedEntry& p, int64_t mtime) {
  EntryPtr e(archive_entry_new());
  const CpioEntry& c = p.entry;
  archive_entry_set_pathname(e.get(), c.path.c_str());
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  archive_entry_set_mtime(e.get(), mtime, 0);
  archive_entry_set_dev(e.get(), 0);
  archive_entry_set_ino64(e.get(), static_cast<la_int64_t>(p.ino));
  archive_entry_set_nlink(e.get(), p.nlink);
  uint32_t perm = c.mode & 07777;
  switch (c.type) {
    case CpioEntry::Type::kFile:
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(p.size));
      break;
    case CpioEntry::Type::kDirectory:
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      archive_entry_set_size(e.get(), 0);
      break;
    case CpioEntry::Type::kSymlink:
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), c.link_target.c_str());
      archive_entry_set_size(e.get(), 0);  // newc stores the target as the body itself
      perm = 0777;  // Linux ignores symlink permissions and always reports 0777
      break;
    case CpioEntry::Type::kCharDevice:
      archive_entry_set_filetype(e.get(), AE_IFCHR);
      archive_entry_set_rdevmajor(e.get(), c.rdev_major);
      archive_entry_set_rdevminor(e.get(), c.rdev_minor);
      archive_entry_set_size(e.get(), 0);
      break;
  }
  archive_entry_set_perm(e.get(), perm);
  return e;
}

class CpioWriter {
 public:
  CpioWriter(archive* a, const std::vector<PlannedEntry>& plan, const Sink& sink)
      : a_(a), plan_(plan), sink_(sink) {
    for (size_t i = 0; i < plan.size(); ++i) index_[plan[i].entry.path] = i;
  }

  Status Write(archive_entry* e) {
    const PlannedEntry& p = plan_[index_.at(archive_entry_pathname(e))];
    if (archive_write_header(a_, e) != ARCHIVE_OK) return Fail(p, "cannot write header");
    if (p.entry.type != CpioEntry::Type::kFile || archive_entry_size(e) == 0) return Ok{};
    file_bytes_ += p.size;
    if (p.entry.source.empty()) return WriteData(p, p.entry.data.data(), p.entry.data.size());
    int fd = open(p.entry.source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return Err("initramfs entry '", p.entry.path, "': cannot open source ", p.entry.source, ": ",
                 std::strerror(errno));
    Status s = CopyFrom(fd, p);
    close(fd);
    return s;
  }

  uint64_t file_bytes() const { return file_bytes_; }

 private:
  Status CopyFrom(int fd, const PlannedEntry& p) {
    buf_.resize(1 << 20);
    uint64_t done = 0;
    for (;;) {
      ssize_t n = read(fd, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return Err("initramfs entry '", p.entry.path, "': cannot read source ", p.entry.source,
                   ": ", std::strerror(errno));
      if (n == 0) break;
      if (done + static_cast<uint64_t>(n) > p.size) break;
      ARROW_TRY(WriteData(p, buf_.data(), static_cast<size_t>(n)));
      done += static_cast<uint64_t>(n);
    }
    if (done != p.size)
      return Err("initramfs entry '", p.entry.path, "': source ", p.entry.source,
                 " changed size while packing (expected ", std::to_string(p.size), " bytes)");
    return Ok{};
  }

  Status WriteData(const PlannedEntry& p, const char* data, size_t n) {
    if (n == 0) return Ok{};
    if (archive_write_data(a_, data, n) != static_cast<la_ssize_t>(n))
      return Fail(p, "cannot write data");
    return Ok{};
  }

  Status Fail(const PlannedEntry& p, const char* what) {
    if (!sink_.status.ok()) return Err("initramfs entry '", p.entry.path, "': ", sink_.status.message());
    return Err("initramfs entry '", p.entry.path, "': ", what, ": ", ArchiveError(a_));
  }

  archive* a_;
  const std::vector<PlannedEntry>& plan_;
  const Sink& sink_;
  std::map<std::string, size_t> index_;
  std::string buf_;
  uint64_t file_bytes_ = 0;
};

}  // namespace

Result<PackStats> WriteInitramfs(std::vector<CpioEntry> entries, const std::filesystem::path& out,
                                 const PackOptions& options) {
  ARROW_TRY(CheckZstdLevel(options.zstd_level));
  auto plan = PlanCpio(std::move(entries));
  if (!plan.ok()) return Err(out.string(), ": ", plan.message());
  auto zstd = ZstdFileWriter::Create(out, options.zstd_level, options.threads);
  if (!zstd.ok()) return zstd.error();

  Sink sink{&zstd.value(), Ok{}};
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  std::unique_ptr<archive_entry_linkresolver, ResolverDeleter> resolver(
      archive_entry_linkresolver_new());
  if (!a || !resolver) return Err(out.string(), ": out of memory");
  archive_entry_linkresolver_set_strategy(resolver.get(), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
  if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK ||
      archive_write_add_filter_none(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open2(a.get(), &sink, nullptr, WriteCallback, nullptr, nullptr) != ARCHIVE_OK)
    return Err(out.string(), ": cannot start cpio archive: ", ArchiveError(a.get()));

  CpioWriter writer(a.get(), *plan, sink);
  for (const PlannedEntry& p : *plan) {
    archive_entry* e = MakeEntry(p, options.mtime).release();
    archive_entry* spare = nullptr;
    archive_entry_linkify(resolver.get(), &e, &spare);
    EntryPtr owned_e(e), owned_spare(spare);
    if (e != nullptr) {
      Status s = writer.Write(e);
      if (!s.ok()) return Err(out.string(), ": ", s.message());
    }
    if (spare != nullptr) {
      Status s = writer.Write(spare);
      if (!s.ok()) return Err(out.string(), ": ", s.message());
    }
  }
  // Every link count is exact, so the resolver holds nothing back; drain it to be sure.
  for (;;) {
    archive_entry* e = nullptr;
    archive_entry* spare = nullptr;
    archive_entry_linkify(resolver.get(), &e, &spare);
    if (e == nullptr) break;
    EntryPtr owned(e);
    return Err(out.string(), ": internal error: hardlink set of '", archive_entry_pathname(e),
               "' left incomplete");
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (!sink.status.ok()) return sink.status.error();
    return Err(out.string(), ": cannot finish cpio archive: ", ArchiveError(a.get()));
  }
  if (!sink.status.ok()) return sink.status.error();
  PackStats stats;
  stats.entries = plan->size();
  stats.file_bytes = writer.file_bytes();
  stats.cpio_bytes = zstd->bytes_in();
  ARROW_TRY(zstd->Finish());
  stats.compressed_bytes = zstd->bytes_out();
  return stats;
}

}  // namespace arrow::packer
