// Kernel layers to bootable kernels, with the decompressed-vmlinux cache; see kernel_layer.h.
#include "runner/kernel_layer.h"

#include <optional>
#include <system_error>

#include "common/file_util.h"
#include "packer/zstd_writer.h"
#include "runner/arch/x86_64/vmlinux.h"

namespace arrow::runner {
namespace fs = std::filesystem;

namespace {

// The cached ELF at `path` when it is there and still parses; nullopt otherwise.
std::optional<BootKernel> ReadCached(const fs::path& path) {
  std::error_code ec;
  if (path.empty() || !fs::is_regular_file(path, ec)) return std::nullopt;
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return std::nullopt;
  auto v = x86::ParseVmlinux(*bytes);
  if (!v.ok()) return std::nullopt;
  BootKernel k;
  k.vmlinux = true;
  k.pvh_note = v->pvh_note;
  k.bytes = std::move(*bytes);
  k.file = path;
  k.cache_hit = true;
  return k;
}

}  // namespace

Result<BootKernel> LoadKernelLayer(const packer::ArrowImage& image, const fs::path& cache_dir) {
  BootKernel k;
  if (const packer::Blob* bz = image.FindLayer(packer::kKernelMediaType)) {
    k.bytes = bz->data;
    return k;
  }
  const packer::Blob* layer = image.FindLayer(packer::kVmlinuxMediaType);
  if (!layer) return Err("the image has no kernel layer");
  k.vmlinux = true;
  const std::string what = "the kernel layer " + layer->digest;
  fs::path cached;
  if (!cache_dir.empty() && layer->digest.starts_with("sha256:"))
    cached = cache_dir / (layer->digest.substr(7) + ".elf");
  if (auto hit = ReadCached(cached)) return std::move(*hit);
  auto elf = packer::ZstdDecompress(layer->data, packer::kMaxVmlinuxBytes);
  if (!elf.ok()) return Err(what, " (zstd-compressed vmlinux): ", elf.message());
  auto v = x86::ParseVmlinux(*elf);
  if (!v.ok()) return Err(what, ": ", v.message());
  k.pvh_note = v->pvh_note;
  k.bytes = std::move(*elf);
  if (!cached.empty()) {
    // A cache that cannot be written (read-only, full) costs the next run a decompression only.
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    if (!ec && WriteFileAtomic(cached, k.bytes).ok()) k.file = cached;
  }
  return k;
}

}  // namespace arrow::runner
