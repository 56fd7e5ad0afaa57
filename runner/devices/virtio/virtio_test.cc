// The virtqueue, the virtio-mmio register file and virtio-net, driven the way Linux's drivers
// drive them — and the way a hostile guest might: loops, out-of-range and zero-length
// descriptors, chains in the wrong direction. Guest memory is a real GuestMemory; the driver
// is this file's FakeDriver writing rings and registers.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>

#include "runner/devices/virtio/mmio.h"
#include "runner/devices/virtio/net.h"
#include "runner/devices/virtio/queue.h"
#include "runner/devices/virtio/test_driver.h"

namespace arrow::runner::virtio {
namespace {
using namespace driver;

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::Create(2 << 20);
    ASSERT_TRUE(m.ok());
    mem_.emplace(std::move(*m));
    q_.size = 8;
    q_.desc_addr = kDesc;
    q_.avail_addr = kAvail;
    q_.used_addr = kUsed;
    ASSERT_TRUE(q_.Activate(*mem_).ok());
    rings_.emplace(*mem_, kDesc, kAvail, kUsed, 8);
  }
  std::string PopError() {
    auto c = q_.Pop(*mem_, 1 << 20);
    return c.ok() ? "(no error)" : c.message();
  }
  std::optional<GuestMemory> mem_;
  Queue q_{256};
  std::optional<Rings> rings_;
};

TEST_F(QueueTest, NothingAvailable) {
  auto c = q_.Pop(*mem_, 1 << 20);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
  EXPECT_FALSE(q_.HasAvailable());
}

TEST_F(QueueTest, ChainOfReadableThenWritable) {
  rings_->SetDesc(3, {0x20000, 100, kDescFlagNext, 5});
  rings_->SetDesc(5, {0x30000, 50, kDescFlagWrite, 0});
  rings_->Offer(3);
  EXPECT_TRUE(q_.HasAvailable());
  auto c = q_.Pop(*mem_, 1 << 20);
  ASSERT_TRUE(c.ok()) << c.message();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->head, 3);
  EXPECT_EQ((*c)->readable_len, 100u);
  EXPECT_EQ((*c)->writable_len, 50u);
  EXPECT_EQ((*c)->writable[0].data(), mem_->Slice(0x30000, 1)->data());
  const uint8_t bytes[] = {1, 2, 3};
  EXPECT_EQ((*c)->WriteAt(48, bytes), 2u);  // only 2 bytes fit
  q_.PushUsed(3, 50);
  EXPECT_EQ(rings_->UsedIdx(), 1);
  EXPECT_EQ(rings_->Used(0), std::make_pair(3u, 50u));
}

TEST_F(QueueTest, ReadIntoSkipsAHeaderAcrossDescriptors) {
  ASSERT_TRUE(mem_->Write(0x20000, "abcdef").ok());
  ASSERT_TRUE(mem_->Write(0x30000, "ghij").ok());
  rings_->SetDesc(0, {0x20000, 6, kDescFlagNext, 1});
  rings_->SetDesc(1, {0x30000, 4, 0, 0});
  rings_->Offer(0);
  auto c = q_.Pop(*mem_, 1 << 20);
  ASSERT_TRUE(c.ok() && c->has_value());
  std::vector<uint8_t> out;
  (*c)->ReadInto(out, 8);
  EXPECT_EQ(std::string(out.begin(), out.end()), "ij");
}

TEST_F(QueueTest, LoopIsAnError) {
  rings_->SetDesc(0, {0x20000, 10, kDescFlagNext, 1});
  rings_->SetDesc(1, {0x20000, 10, kDescFlagNext, 0});
  rings_->Offer(0);
  EXPECT_EQ(PopError(), "descriptor chain from 0 loops");
}

TEST_F(QueueTest, HostileDescriptors) {
  struct Case {
    Desc d;
    const char* want;
  } cases[] = {
      {{0x1ff000, 0x2000, 0, 0}, "descriptor 0: memory: range [0x1ff000 +0x2000) is outside [0, 0x200000)"},
      {{0xfffffffffffff000ull, 16, 0, 0}, "descriptor 0: memory: guest address 0xfffffffffffff000 is outside RAM"},
      {{0x20000, 0, 0, 0}, "descriptor 0 has length 0"},
      {{0x20000, 16, kDescFlagIndirect, 0}, "descriptor 0 is indirect (not negotiated)"},
      {{0x20000, 16, kDescFlagNext, 9}, "descriptor 0 links to 9, outside the table"},
      {{0x20000, 0x200000, 0, 0}, "descriptor chain from 0 is longer than 1048576 bytes"},
  };
  for (const auto& c : cases) {
    q_.Reset();
    q_.size = 8;
    q_.desc_addr = kDesc;
    q_.avail_addr = kAvail;
    q_.used_addr = kUsed;
    ASSERT_TRUE(mem_->Zero(kAvail, 0x1000).ok());
    ASSERT_TRUE(q_.Activate(*mem_).ok());
    rings_.emplace(*mem_, kDesc, kAvail, kUsed, 8);
    rings_->SetDesc(0, c.d);
    rings_->Offer(0);
    EXPECT_EQ(PopError(), c.want);
  }
}

TEST_F(QueueTest, ReadableAfterWritableIsAnError) {
  rings_->SetDesc(0, {0x20000, 16, kDescFlagWrite | kDescFlagNext, 1});
  rings_->SetDesc(1, {0x30000, 16, 0, 0});
  rings_->Offer(0);
  EXPECT_EQ(PopError(), "descriptor 1 is device-readable after a writable one");
}

TEST_F(QueueTest, BadHeadAndRunawayIndex) {
  ASSERT_TRUE(mem_->WriteObj<uint16_t>(kAvail + 4, 200).ok());
  rings_->SetAvailIdx(1);
  EXPECT_EQ(PopError(), "chain head 200 is outside the 8-entry descriptor table");
  q_.Reset();
  q_.size = 8;
  q_.desc_addr = kDesc;
  q_.avail_addr = kAvail;
  q_.used_addr = kUsed;
  ASSERT_TRUE(q_.Activate(*mem_).ok());
  rings_->SetAvailIdx(9);
  EXPECT_EQ(PopError(), "available index 9 is more than 8 ahead of the device's 0");
}

TEST_F(QueueTest, IndexWrapsModulo65536) {
  rings_->SetDesc(0, {0x20000, 16, 0, 0});
  for (int i = 0; i < 70000; i++) {
    rings_->Offer(0);
    auto c = q_.Pop(*mem_, 1 << 20);
    ASSERT_TRUE(c.ok() && c->has_value()) << i;
    q_.PushUsed(0, 1);
  }
  EXPECT_EQ(rings_->UsedIdx(), static_cast<uint16_t>(70000));
}

TEST(QueueActivate, RejectsBadPlacement) {
  auto m = GuestMemory::Create(1 << 20);
  ASSERT_TRUE(m.ok());
  Queue q(256);
  q.size = 6;
  EXPECT_EQ(q.Activate(*m).message(), "queue size 6 is not a power of 2 in [1, 256]");
  q.size = 512;
  EXPECT_EQ(q.Activate(*m).message(), "queue size 512 is not a power of 2 in [1, 256]");
  q.size = 8;
  q.desc_addr = 0x1008;
  EXPECT_EQ(q.Activate(*m).message(),
            "ring addresses desc 0x1008 avail 0x0 used 0x0 are misaligned (16, 2, 4 bytes)");
  q.desc_addr = 0xfffc0;
  EXPECT_EQ(q.Activate(*m).message(),
            "descriptor table: memory: range [0xfffc0 +0x80) is outside [0, 0x100000)");
  EXPECT_FALSE(q.active());
}

// ---- the transport, with a recording device ----

class RecordingDevice : public VirtioDevice {
 public:
  uint32_t device_id() const override { return 42; }
  uint64_t device_features() const override { return kFeatureVersion1 | 0x5; }
  std::span<const uint8_t> config() const override { return config_; }
  void Activate(uint64_t f) override { activated.push_back(f); }
  void Reset() override { resets++; }
  void Notify(uint32_t i) override { notified.push_back(i); }
  std::vector<uint64_t> activated;
  std::vector<uint32_t> notified;
  int resets = 0;
  uint8_t config_[6] = {1, 2, 3, 4, 5, 6};
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::Create(2 << 20);
    ASSERT_TRUE(m.ok());
    mem_.emplace(std::move(*m));
    t_.emplace(*mem_, dev_, std::vector<uint16_t>{16, 16}, [this] { irqs_++; });
  }
  std::optional<GuestMemory> mem_;
  RecordingDevice dev_;
  std::optional<MmioTransport> t_;
  int irqs_ = 0;
};

TEST_F(TransportTest, IdentityRegisters) {
  Regs r{*t_};
  EXPECT_EQ(r.Get(reg::kMagic), kMagicValue);
  EXPECT_EQ(r.Get(reg::kVersion), 2u);
  EXPECT_EQ(r.Get(reg::kDeviceId), 42u);
  r.Set(reg::kDeviceFeaturesSel, 1);
  EXPECT_EQ(r.Get(reg::kDeviceFeatures), 1u);  // VERSION_1 is bit 32
  r.Set(reg::kDeviceFeaturesSel, 0);
  EXPECT_EQ(r.Get(reg::kDeviceFeatures), 5u);
  r.Set(reg::kQueueSel, 1);
  EXPECT_EQ(r.Get(reg::kQueueNumMax), 16u);
  r.Set(reg::kQueueSel, 7);
  EXPECT_EQ(r.Get(reg::kQueueNumMax), 0u);  // no such queue
  uint8_t two[2] = {0xaa, 0xaa};
  t_->Read(reg::kMagic, two);  // registers are 32-bit only
  EXPECT_EQ(two[0], 0);
  uint8_t cfg[2];
  t_->Read(reg::kConfig + 4, cfg);
  EXPECT_EQ(cfg[0], 5);
  EXPECT_EQ(cfg[1], 6);
  uint8_t past[4] = {9, 9, 9, 9};
  t_->Read(reg::kConfig + 4, past);  // crosses the end of the config space: zeros
  EXPECT_EQ(past[0], 0);
}

TEST_F(TransportTest, FeaturesOkNeedsVersion1AndOfferedBits) {
  Regs r{*t_};
  r.Set(reg::kStatus, status::kAcknowledge | status::kDriver);
  r.Set(reg::kDriverFeaturesSel, 0);
  r.Set(reg::kDriverFeatures, 1);
  r.Set(reg::kStatus, status::kAcknowledge | status::kDriver | status::kFeaturesOk);
  EXPECT_EQ(r.Get(reg::kStatus) & status::kFeaturesOk, 0u);  // no VERSION_1
  r.Set(reg::kStatus, 0);
  r.Set(reg::kStatus, status::kAcknowledge | status::kDriver);
  r.Set(reg::kDriverFeatures, 1 | 2);  // bit 1 is not offered
  r.Set(reg::kDriverFeaturesSel, 1);
  r.Set(reg::kDriverFeatures, 1);
  r.Set(reg::kStatus, status::kAcknowledge | status::kDriver | status::kFeaturesOk);
  EXPECT_EQ(r.Get(reg::kStatus) & status::kFeaturesOk, 0u);
}

TEST_F(TransportTest, SetUpActivatesAndNotifies) {
  Regs r{*t_};
  r.Bring(kFeatureVersion1 | 1);
  ASSERT_EQ(dev_.activated.size(), 1u);
  EXPECT_EQ(dev_.activated[0], kFeatureVersion1 | 1);
  EXPECT_TRUE(t_->running());
  r.Set(reg::kQueueNotify, 1);
  r.Set(reg::kQueueNotify, 5);  // no such queue: ignored
  EXPECT_EQ(dev_.notified, std::vector<uint32_t>{1});
  // Queue registers are frozen once running.
  r.Set(reg::kQueueSel, 0);
  r.Set(reg::kQueueDescLow, 0x1230);
  EXPECT_EQ(t_->queue(0).desc_addr, kDesc);
  t_->SignalUsed();
  EXPECT_EQ(irqs_, 1);
  EXPECT_EQ(r.Get(reg::kInterruptStatus), kInterruptUsedBuffer);
  r.Set(reg::kInterruptAck, kInterruptUsedBuffer);
  EXPECT_EQ(r.Get(reg::kInterruptStatus), 0u);
  r.Set(reg::kStatus, 0);
  EXPECT_EQ(dev_.resets, 1);
  EXPECT_FALSE(t_->running());
  EXPECT_EQ(t_->queue(0).desc_addr, 0u);
}

TEST_F(TransportTest, BadQueueOrDeviceErrorSetsNeedsReset) {
  Regs r{*t_};
  r.Set(reg::kStatus, status::kAcknowledge | status::kDriver);
  r.Set(reg::kQueueSel, 0);
  r.Set(reg::kQueueNum, 16);
  r.Set(reg::kQueueDescLow, 0x1ffff0);  // the table would leave RAM
  r.Set(reg::kQueueReady, 1);
  EXPECT_EQ(r.Get(reg::kQueueReady), 0u);
  EXPECT_NE(r.Get(reg::kStatus) & status::kNeedsReset, 0u);
  EXPECT_EQ(r.Get(reg::kInterruptStatus), kInterruptConfigChange);
  EXPECT_EQ(t_->last_error(),
            "queue 0: descriptor table: memory: range [0x1ffff0 +0x100) is outside [0, 0x200000)");
  r.Bring(kFeatureVersion1);  // a reset recovers
  EXPECT_TRUE(t_->running());
  t_->DeviceError("test");
  EXPECT_FALSE(t_->running());
  EXPECT_NE(r.Get(reg::kStatus) & status::kNeedsReset, 0u);
}

TEST_F(TransportTest, DriverOkWithoutQueuesIsAnError) {
  Regs r{*t_};
  r.Set(reg::kStatus, status::kAcknowledge | status::kDriver);
  r.Set(reg::kDriverFeaturesSel, 1);
  r.Set(reg::kDriverFeatures, 1);
  r.Set(reg::kStatus, status::kAcknowledge | status::kDriver | status::kFeaturesOk);
  r.Set(reg::kStatus, status::kAcknowledge | status::kDriver | status::kFeaturesOk | status::kDriverOk);
  EXPECT_FALSE(t_->running());
  EXPECT_TRUE(dev_.activated.empty());
  EXPECT_EQ(t_->last_error(), "DRIVER_OK with queue 0 not ready");
}

// ---- virtio-net with a recording backend ----

class FakeBackend : public net::NetBackend {
 public:
  void AddPollFds(std::vector<pollfd>&, int*, bool) override {}
  void HandlePollFds(std::span<const pollfd>) override {}
  void Send(std::span<const uint8_t> f) override { sent.emplace_back(f.begin(), f.end()); }
  int mtu() const override { return 1500; }
  std::string Describe() const override { return "fake"; }
  std::vector<std::vector<uint8_t>> sent;
};

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::Create(4 << 20);
    ASSERT_TRUE(m.ok());
    mem_.emplace(std::move(*m));
    backend_ = std::make_shared<FakeBackend>();
    auto d = VirtioNet::Create(*mem_, backend_, [this] { irqs_++; });
    ASSERT_TRUE(d.ok());
    net_ = std::move(*d);
    rx_.emplace(*mem_, kDesc, kAvail, kUsed, 8);
    tx_.emplace(*mem_, kDesc + 0x4000, kAvail + 0x4000, kUsed + 0x4000, 8);
  }
  void Bring(uint64_t features) { Regs{net_->transport()}.Bring(features); }
  std::string Bytes(uint64_t gpa, size_t n) {
    auto s = mem_->Slice(gpa, n);
    return s.ok() ? std::string(reinterpret_cast<char*>(s->data()), n) : "";
  }
  std::optional<GuestMemory> mem_;
  std::shared_ptr<FakeBackend> backend_;
  std::unique_ptr<VirtioNet> net_;
  std::optional<Rings> rx_, tx_;
  int irqs_ = 0;
};

TEST_F(NetTest, ConfigSpaceHasMacLinkAndMtu) {
  uint8_t cfg[12];
  net_->transport().Read(reg::kConfig, cfg);
  EXPECT_EQ(std::memcmp(cfg, net::kGuestMac, 6), 0);
  EXPECT_EQ(cfg[6], 1);  // VIRTIO_NET_S_LINK_UP
  EXPECT_EQ(cfg[10] | (cfg[11] << 8), 1500);
  const uint64_t f = net_->device_features();
  EXPECT_TRUE(f & kFeatureVersion1);
  EXPECT_TRUE(f & net_feature::kMrgRxbuf);
  EXPECT_FALSE(f & net_feature::kCsum);  // no offloads: backends need whole frames
}

TEST_F(NetTest, TransmitStripsTheHeader) {
  Bring(kFeatureVersion1 | net_feature::kMac);
  ASSERT_TRUE(mem_->Write(0x40000, std::string(12, '\0') + "frame-bytes").ok());
  tx_->SetDesc(0, {0x40000, 8, kDescFlagNext, 1});  // header split across descriptors
  tx_->SetDesc(1, {0x40008, 15, 0, 0});
  tx_->Offer(0);
  net_->ProcessQueues();
  ASSERT_EQ(backend_->sent.size(), 1u);
  EXPECT_EQ(std::string(backend_->sent[0].begin(), backend_->sent[0].end()), "frame-bytes");
  EXPECT_EQ(tx_->UsedIdx(), 1);
  EXPECT_EQ(irqs_, 1);
  EXPECT_EQ(net_->stats().tx_frames, 1u);
}

TEST_F(NetTest, ReceiveWaitsForBuffersThenFillsOne) {
  Bring(kFeatureVersion1);
  const std::string frame(1400, 'x');
  net_->DeliverFromBackend({reinterpret_cast<const uint8_t*>(frame.data()), frame.size()});
  net_->ProcessQueues();
  EXPECT_EQ(rx_->UsedIdx(), 0);  // no buffers yet: the frame waits
  rx_->SetDesc(0, {0x50000, 1526, kDescFlagWrite, 0});
  rx_->Offer(0);
  net_->ProcessQueues();
  ASSERT_EQ(rx_->UsedIdx(), 1);
  EXPECT_EQ(rx_->Used(0), std::make_pair(0u, 1412u));
  EXPECT_EQ(Bytes(0x50000 + 10, 2), std::string("\x01\x00", 2));  // num_buffers = 1
  EXPECT_EQ(Bytes(0x50000 + 12, 1400), frame);
}

TEST_F(NetTest, MergeableBuffersSpanAFrame) {
  Bring(kFeatureVersion1 | net_feature::kMrgRxbuf);
  for (uint16_t i = 0; i < 3; i++) {
    rx_->SetDesc(i, {0x50000 + 0x1000u * i, 600, kDescFlagWrite, 0});
    rx_->Offer(i);
  }
  std::string frame(1400, 'a');
  for (size_t i = 0; i < frame.size(); i++) frame[i] = static_cast<char>('a' + i % 26);
  net_->DeliverFromBackend({reinterpret_cast<const uint8_t*>(frame.data()), frame.size()});
  net_->ProcessQueues();
  ASSERT_EQ(rx_->UsedIdx(), 3);
  EXPECT_EQ(rx_->Used(0).second, 600u);
  EXPECT_EQ(rx_->Used(1).second, 600u);
  EXPECT_EQ(rx_->Used(2).second, 212u);
  EXPECT_EQ(Bytes(0x50000 + 10, 2), std::string("\x03\x00", 2));
  EXPECT_EQ(Bytes(0x50000 + 12, 588) + Bytes(0x51000, 600) + Bytes(0x52000, 212), frame);
}

TEST_F(NetTest, TooSmallBufferDropsTheFrameWithoutMergeable) {
  Bring(kFeatureVersion1);
  rx_->SetDesc(0, {0x50000, 100, kDescFlagWrite, 0});
  rx_->Offer(0);
  const std::string frame(1000, 'z');
  net_->DeliverFromBackend({reinterpret_cast<const uint8_t*>(frame.data()), frame.size()});
  net_->ProcessQueues();
  EXPECT_EQ(rx_->UsedIdx(), 1);
  EXPECT_EQ(rx_->Used(0).second, 0u);
  EXPECT_EQ(net_->stats().rx_dropped, 1u);
}

TEST_F(NetTest, HostileChainsResetTheDeviceNotTheHost) {
  Bring(kFeatureVersion1);
  tx_->SetDesc(0, {0x40000, 64, kDescFlagWrite, 0});  // TX must be device-readable
  tx_->Offer(0);
  net_->ProcessQueues();
  EXPECT_FALSE(net_->transport().running());
  EXPECT_NE(net_->transport().device_status() & status::kNeedsReset, 0u);
  EXPECT_EQ(net_->transport().last_error(),
            "tx queue: a chain must be read-only and hold the 12-byte header");
  EXPECT_TRUE(backend_->sent.empty());

  ASSERT_TRUE(mem_->Zero(kAvail + 0x4000, 0x1000).ok());  // the driver's fresh rings
  Bring(kFeatureVersion1);  // the driver resets and starts over
  tx_.emplace(*mem_, kDesc + 0x4000, kAvail + 0x4000, kUsed + 0x4000, 8);
  rx_.emplace(*mem_, kDesc, kAvail, kUsed, 8);
  rx_->SetDesc(0, {0x3ff000, 0x2000, kDescFlagWrite, 0});  // leaves RAM
  rx_->Offer(0);
  const std::string frame(60, 'f');
  net_->DeliverFromBackend({reinterpret_cast<const uint8_t*>(frame.data()), frame.size()});
  net_->ProcessQueues();
  EXPECT_FALSE(net_->transport().running());
  EXPECT_EQ(net_->transport().last_error(),
            "rx queue: descriptor 0: memory: range [0x3ff000 +0x2000) is outside [0, 0x400000)");
}

TEST_F(NetTest, FramesBeforeDriverOkAreDropped) {
  const std::string frame(60, 'f');
  net_->DeliverFromBackend({reinterpret_cast<const uint8_t*>(frame.data()), frame.size()});
  EXPECT_EQ(net_->stats().rx_dropped, 1u);
}

}  // namespace
}  // namespace arrow::runner::virtio
