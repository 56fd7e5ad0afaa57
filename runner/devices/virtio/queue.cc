// Split virtqueue, device side; see queue.h for the rules every guest value is held to.
#include "runner/devices/virtio/queue.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace arrow::runner::virtio {
namespace {

uint16_t Le16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t Le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t Le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

void Chain::ReadInto(std::vector<uint8_t>& out, size_t skip) const {
  out.clear();
  out.reserve(readable_len > skip ? readable_len - skip : 0);
  for (auto s : readable) {
    if (skip >= s.size()) {
      skip -= s.size();
      continue;
    }
    out.insert(out.end(), s.begin() + static_cast<ptrdiff_t>(skip), s.end());
    skip = 0;
  }
}

size_t Chain::WriteAt(size_t offset, std::span<const uint8_t> src) const {
  size_t done = 0;
  for (auto s : writable) {
    if (done == src.size()) break;
    if (offset >= s.size()) {
      offset -= s.size();
      continue;
    }
    size_t n = std::min(s.size() - offset, src.size() - done);
    std::memcpy(s.data() + offset, src.data() + done, n);
    done += n;
    offset = 0;
  }
  return done;
}

Status Queue::Activate(GuestMemory& mem) {
  active_ = false;
  if (size == 0 || size > max_size_ || (size & (size - 1)) != 0)
    return Err("queue size ", std::to_string(size), " is not a power of 2 in [1, ",
               std::to_string(max_size_), "]");
  if (desc_addr % 16 || avail_addr % 2 || used_addr % 4)
    return Err("ring addresses desc 0x", Hex(desc_addr), " avail 0x", Hex(avail_addr),
               " used 0x", Hex(used_addr), " are misaligned (16, 2, 4 bytes)");
  auto d = mem.Slice(desc_addr, 16ull * size);
  if (!d) return Err("descriptor table: ", d.message());
  auto a = mem.Slice(avail_addr, 6 + 2ull * size);
  if (!a) return Err("available ring: ", a.message());
  auto u = mem.Slice(used_addr, 6 + 8ull * size);
  if (!u) return Err("used ring: ", u.message());
  desc_ = *d;
  avail_ = *a;
  used_ = *u;
  next_avail_ = next_used_ = 0;
  active_ = true;
  return Ok{};
}

void Queue::Reset() {
  size = 0;
  ready = false;
  desc_addr = avail_addr = used_addr = 0;
  active_ = false;
  next_avail_ = next_used_ = 0;
  desc_ = avail_ = used_ = {};
}

uint16_t Queue::AvailIdx() const {
  // SAFETY: avail_ is a checked span of guest RAM, 2-byte aligned (Activate); the driver updates
  // idx concurrently, so it is read atomically, and acquire orders the ring reads after it.
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(avail_.data() + 2), __ATOMIC_ACQUIRE);
}

bool Queue::HasAvailable() const {
  return active_ && AvailIdx() != next_avail_;
}

Result<std::optional<Chain>> Queue::Pop(GuestMemory& mem, uint64_t max_len) {
  if (!active_) return std::optional<Chain>{};
  const uint16_t avail = AvailIdx();
  if (avail == next_avail_) return std::optional<Chain>{};
  if (static_cast<uint16_t>(avail - next_avail_) > size)
    return Err("available index ", std::to_string(avail), " is more than ", std::to_string(size),
               " ahead of the device's ", std::to_string(next_avail_));
  Chain c;
  c.head = Le16(avail_.data() + 4 + 2u * (next_avail_ % size));
  if (c.head >= size)
    return Err("chain head ", std::to_string(c.head), " is outside the ", std::to_string(size),
               "-entry descriptor table");
  uint16_t i = c.head;
  for (uint32_t n = 0;; n++) {
    if (n == size) return Err("descriptor chain from ", std::to_string(c.head), " loops");
    const uint8_t* d = desc_.data() + 16u * i;
    const uint64_t addr = Le64(d);
    const uint32_t len = Le32(d + 8);
    const uint16_t flags = Le16(d + 12);
    const uint16_t next = Le16(d + 14);
    if (flags & kDescFlagIndirect)
      return Err("descriptor ", std::to_string(i), " is indirect (not negotiated)");
    if (len == 0) return Err("descriptor ", std::to_string(i), " has length 0");
    uint64_t total = c.readable_len + c.writable_len + len;
    if (total > max_len)
      return Err("descriptor chain from ", std::to_string(c.head), " is longer than ",
                 std::to_string(max_len), " bytes");
    auto s = mem.Slice(addr, len);
    if (!s) return Err("descriptor ", std::to_string(i), ": ", s.message());
    if (flags & kDescFlagWrite) {
      c.writable.push_back(*s);
      c.writable_len += len;
    } else {
      if (!c.writable.empty())
        return Err("descriptor ", std::to_string(i), " is device-readable after a writable one");
      c.readable.push_back(*s);
      c.readable_len += len;
    }
    if (!(flags & kDescFlagNext)) break;
    if (next >= size)
      return Err("descriptor ", std::to_string(i), " links to ", std::to_string(next),
                 ", outside the table");
    i = next;
  }
  next_avail_++;
  return std::optional<Chain>(std::move(c));
}

void Queue::PushUsed(uint16_t head, uint32_t len) {
  uint8_t* e = used_.data() + 4 + 8u * (next_used_ % size);
  uint32_t id = head;
  std::memcpy(e, &id, 4);
  std::memcpy(e + 4, &len, 4);
  next_used_++;
  // SAFETY: used_ is a checked span of guest RAM, 4-byte aligned (Activate). Release: the
  // element is visible to the driver before the index that publishes it.
  __atomic_store_n(reinterpret_cast<uint16_t*>(used_.data() + 2), next_used_, __ATOMIC_RELEASE);
}

}  // namespace arrow::runner::virtio
