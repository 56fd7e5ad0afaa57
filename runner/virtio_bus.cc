// The built-in VMM's virtio-mmio devices; see virtio_bus.h.
#include "runner/virtio_bus.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runner/arch/x86_64/layout.h"

namespace arrow::runner {

VirtioBus::~VirtioBus() {
  Stop();
  for (auto& s : slots_) {
    s.net.reset();
    s.blk.reset();
    if (s.irq_fd >= 0) close(s.irq_fd);
  }
}

Result<VirtioBus::Slot> VirtioBus::NewSlot(std::function<void()>* interrupt) {
  if (slots_.size() >= layout::kMaxVirtioDevices)
    return Err("at most ", std::to_string(layout::kMaxVirtioDevices), " virtio devices");
  Slot s;
  s.base = layout::kVirtioMmioStart + slots_.size() * layout::kVirtioMmioSize;
  s.gsi = layout::kVirtioIrqStart + static_cast<uint32_t>(slots_.size());
  s.irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s.irq_fd < 0) return Err("virtio: eventfd: ", std::strerror(errno));
  if (vm_.AddIrqFd(s.irq_fd, s.gsi)) {
    *interrupt = [fd = s.irq_fd] {
      uint64_t one = 1;
      (void)!write(fd, &one, sizeof one);
    };
  } else {
    *interrupt = [vm = &vm_, gsi = s.gsi] {
      (void)vm->SetIrqLine(gsi, true);
      (void)vm->SetIrqLine(gsi, false);
    };
  }
  return s;
}

Status VirtioBus::AddNet(std::shared_ptr<net::NetBackend> backend) {
  std::function<void()> interrupt;
  auto slot = NewSlot(&interrupt);
  if (!slot) return slot.error();
  auto dev = virtio::VirtioNet::Create(mem_, std::move(backend), std::move(interrupt));
  if (!dev) {
    close(slot->irq_fd);
    return dev.error();
  }
  slot->net = std::move(*dev);
  for (uint32_t q = 0; q < 2; q++)
    (void)vm_.AddIoEventFd(slot->net->queue_eventfd(q), slot->base + virtio::reg::kQueueNotify, q);
  slots_.push_back(std::move(*slot));
  return Ok{};
}

Status VirtioBus::AddBlock(virtio::BlockDisk disk) {
  std::function<void()> interrupt;
  auto slot = NewSlot(&interrupt);
  if (!slot) return slot.error();
  const std::string serial = disk.serial;
  auto dev = virtio::VirtioBlock::Create(mem_, std::move(disk), std::move(interrupt));
  if (!dev) {
    close(slot->irq_fd);
    return Err("disk ", serial, ": ", dev.message());
  }
  slot->blk = std::move(*dev);
  (void)vm_.AddIoEventFd(slot->blk->queue_eventfd(), slot->base + virtio::reg::kQueueNotify, 0);
  slots_.push_back(std::move(*slot));
  return Ok{};
}

std::string VirtioBus::Declarations() const {
  std::string out;
  for (const auto& s : slots_) {
    char decl[80];
    snprintf(decl, sizeof decl, " virtio_mmio.device=4K@0x%llx:%u",
             static_cast<unsigned long long>(s.base), s.gsi);
    out += decl;
  }
  return out;
}

bool VirtioBus::HandleMmio(uint64_t addr, bool is_write, std::span<uint8_t> data) {
  if (addr < layout::kVirtioMmioStart) return false;
  const uint64_t index = (addr - layout::kVirtioMmioStart) / layout::kVirtioMmioSize;
  if (index >= slots_.size()) return false;
  const uint64_t off = addr - slots_[index].base;
  if (is_write)
    slots_[index].transport()->Write(off, data);
  else
    slots_[index].transport()->Read(off, data);
  return true;
}

void VirtioBus::Start() {
  for (auto& s : slots_) {
    if (s.net) s.net->Start();
    if (s.blk) s.blk->Start();
  }
}

void VirtioBus::Stop() {
  for (auto& s : slots_) {
    if (s.net) s.net->Stop();
    if (s.blk) s.blk->Stop();
  }
}

void VirtioBus::Report(FILE* out) {
  for (auto& s : slots_) {
    const std::string& err = s.transport()->last_error();
    if (s.net) {
      auto st = s.net->stats();
      fprintf(out, "arrow-run: virtio-net: %llu frames sent, %llu received, %llu dropped",
              static_cast<unsigned long long>(st.tx_frames),
              static_cast<unsigned long long>(st.rx_frames),
              static_cast<unsigned long long>(st.rx_dropped));
    } else {
      auto st = s.blk->stats();
      fprintf(out,
              "arrow-run: virtio-blk: %llu reads (%llu bytes), %llu writes (%llu bytes), "
              "%llu flushes, %llu failed requests",
              static_cast<unsigned long long>(st.reads),
              static_cast<unsigned long long>(st.bytes_read),
              static_cast<unsigned long long>(st.writes),
              static_cast<unsigned long long>(st.bytes_written),
              static_cast<unsigned long long>(st.flushes),
              static_cast<unsigned long long>(st.errors));
    }
    fprintf(out, "%s%s\n", err.empty() ? "" : "; device error: ", err.c_str());
  }
}

}  // namespace arrow::runner
