// Guest RAM: one anonymous mapping, split around the MMIO hole, with checked access.
#include "runner/vstate/memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runner/arch/x86_64/layout.h"

namespace arrow::runner {

Result<GuestMemory> GuestMemory::Create(uint64_t size) {
  if (size < (1u << 20) || size % 4096 != 0)
    return Err("memory: guest RAM must be a multiple of 4 KiB and at least 1 MiB, got ",
               std::to_string(size));
  if (size > (uint64_t{1} << 40)) return Err("memory: guest RAM above 1 TiB is not supported");
  // SAFETY: a fresh anonymous private mapping; no existing memory is affected. NORESERVE: the
  // guest only costs what it touches. 2 MiB more is mapped so the RAM can start on a 2 MiB
  // boundary; the unaligned head and tail are unmapped again at once.
  constexpr uint64_t k2M = 2u << 20;
  void* p = mmap(nullptr, size + k2M, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return Err("memory: mmap of ", std::to_string(size >> 20), " MiB: ", std::strerror(errno));
  auto* raw = static_cast<uint8_t*>(p);
  auto* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(raw) + k2M - 1) & ~(k2M - 1));
  // SAFETY: both ranges lie inside the mapping just made and outside [base, base + size); the
  // head is under 2 MiB, so the tail (2 MiB less the head) is never empty.
  const size_t head = static_cast<size_t>(base - raw);
  if (head) munmap(raw, head);
  munmap(base + size, k2M - head);
  // Transparent huge pages, as qemu asks for its RAM: one fault (and one nested-paging entry)
  // per 2 MiB the guest touches instead of 512. Where THP is off this is a no-op.
  (void)madvise(base, size, MADV_HUGEPAGE);
  std::vector<MemoryRegion> regions;
  uint64_t low = std::min(size, layout::kMmioHoleStart);
  regions.push_back({0, low, base});
  if (size > low) regions.push_back({layout::k4GiB, size - low, base + low});
  return GuestMemory(base, size, size, std::move(regions));
}

GuestMemory::GuestMemory(GuestMemory&& o) noexcept
    : base_(o.base_), map_size_(o.map_size_), size_(o.size_), regions_(std::move(o.regions_)) {
  o.base_ = nullptr;
  o.map_size_ = 0;
}

GuestMemory::~GuestMemory() {
  // SAFETY: base_/map_size_ are exactly what Create mapped; vCPUs are gone before RAM dies.
  if (base_) munmap(base_, map_size_);
}

Result<std::span<uint8_t>> CheckedSpan(std::span<uint8_t> area, uint64_t off, uint64_t len,
                                       const char* what) {
  uint64_t end;
  if (!CheckedAdd(off, len, &end) || end > area.size())
    return Err(what, ": range [0x", Hex(off), " +0x", Hex(len), ") is outside [0, 0x",
               Hex(area.size()), ")");
  return area.subspan(off, len);
}

Result<std::span<uint8_t>> GuestMemory::Slice(uint64_t gpa, uint64_t len) {
  for (const auto& r : regions_) {
    if (gpa >= r.guest_addr && gpa < r.guest_addr + r.size)
      return CheckedSpan(std::span<uint8_t>(r.host, r.size), gpa - r.guest_addr, len, "memory");
  }
  return Err("memory: guest address 0x", Hex(gpa), " is outside RAM");
}

Status GuestMemory::Write(uint64_t gpa, std::string_view bytes) {
  auto s = Slice(gpa, bytes.size());
  if (!s) return s.error();
  std::memcpy(s->data(), bytes.data(), bytes.size());
  return Ok{};
}

Status GuestMemory::Zero(uint64_t gpa, uint64_t len) {
  auto s = Slice(gpa, len);
  if (!s) return s.error();
  std::memset(s->data(), 0, len);
  return Ok{};
}

std::string Hex(uint64_t v) {
  char buf[20];
  snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace arrow::runner
