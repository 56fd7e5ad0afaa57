// The kernel layer of an arrow, as both VMMs boot it.
//
// A bzImage layer (application/vnd.arrow.kernel.v1: prebuilt distro kernels, arrows built with
// [kernel] format = "bzimage" or by older versions) is used as it is. A vmlinux layer
// (application/vnd.arrow.kernel.v1.elf+zstd) is decompressed once per layer digest into
// <cache>/vmlinux/<hex>.elf (written atomically), so later runs read the ELF file and pay for no
// decompression; the built-in VMM loads its PT_LOAD segments and qemu boots the cached file
// through its PVH note. The decompressed file is validated (ParseVmlinux) before it is cached or
// used, and a cached file that no longer parses is replaced.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "packer/arrow_file.h"

namespace arrow::runner {

struct BootKernel {
  std::string bytes;           // the bzImage or the ELF vmlinux
  std::filesystem::path file;  // the cached ELF vmlinux (qemu's -kernel); empty for a bzImage
  bool vmlinux = false;
  bool pvh_note = false;       // the vmlinux can boot under qemu
  bool cache_hit = false;      // read from the cache, not decompressed
};

// `cache_dir` empty: decompress in memory and cache nothing (qemu then gets a temporary copy).
Result<BootKernel> LoadKernelLayer(const packer::ArrowImage& image,
                                   const std::filesystem::path& cache_dir);

}  // namespace arrow::runner
