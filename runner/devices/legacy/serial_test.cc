// UART register behaviour (docs/vmm.md §3) and the port bus around it.
#include "runner/devices/legacy/serial.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runner/devices/legacy/port_bus.h"

namespace arrow::runner {
namespace {

struct Uart {
  std::string out;
  std::vector<bool> irq;  // every level change
  Serial s{[this](uint8_t b) { out.push_back(static_cast<char>(b)); },
           [this](bool l) { irq.push_back(l); }};
};

TEST(SerialTest, IdleRegisters) {
  Uart u;
  EXPECT_EQ(u.s.Read(Serial::kLsr), 0x60);  // THRE|TEMT: never 0 (multi-second stalls)
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc1);  // no interrupt, 16550A FIFO bits
  EXPECT_EQ(u.s.Read(Serial::kMsr), 0xb0);
  EXPECT_EQ(u.s.Read(Serial::kMcr), Serial::kMcrOut2);
  EXPECT_EQ(u.s.Read(Serial::kIer), 0);
  EXPECT_TRUE(u.irq.empty());
}

TEST(SerialTest, IerKeepsLowFourBitsAndScratchReadsBack) {
  Uart u;
  u.s.Write(Serial::kIer, 0xf5);
  EXPECT_EQ(u.s.Read(Serial::kIer), 0x05);
  u.s.Write(Serial::kScr, 0x5a);
  EXPECT_EQ(u.s.Read(Serial::kScr), 0x5a);
}

TEST(SerialTest, ThrWriteOutputsAndRaisesThreWhenEnabled) {
  Uart u;
  u.s.Write(Serial::kData, 'a');  // THRI off: output, no interrupt
  EXPECT_EQ(u.out, "a");
  EXPECT_TRUE(u.irq.empty());
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc1);
  u.s.Write(Serial::kIer, Serial::kIerThri);  // enabling THRI while THR is empty raises it
  EXPECT_EQ(u.irq, std::vector<bool>{true});
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc2);  // THRE; reading IIR clears it
  EXPECT_EQ(u.irq, (std::vector<bool>{true, false}));
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc1);
  u.s.Write(Serial::kData, 'b');  // each THR write raises THRE again
  EXPECT_EQ(u.irq.back(), true);
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc2);
  EXPECT_EQ(u.irq.back(), false);
  EXPECT_EQ(u.out, "ab");
}

TEST(SerialTest, DisablingThriDropsThePendingInterrupt) {
  Uart u;
  u.s.Write(Serial::kIer, Serial::kIerThri);
  ASSERT_TRUE(u.s.irq_level());
  u.s.Write(Serial::kIer, 0);
  EXPECT_FALSE(u.s.irq_level());
}

TEST(SerialTest, ReceiveSetsDataReadyAndRxInterrupt) {
  Uart u;
  const uint8_t in[] = {'h', 'i'};
  EXPECT_EQ(u.s.EnqueueInput(in, 2), 2u);
  EXPECT_EQ(u.s.Read(Serial::kLsr), 0x61);
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc1);  // RDI not enabled
  u.s.Write(Serial::kIer, Serial::kIerRdi);
  EXPECT_TRUE(u.s.irq_level());
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc4);
  EXPECT_EQ(u.s.Read(Serial::kData), 'h');
  EXPECT_EQ(u.s.Read(Serial::kData), 'i');
  EXPECT_FALSE(u.s.irq_level());
  EXPECT_EQ(u.s.Read(Serial::kLsr), 0x60);
  EXPECT_EQ(u.s.Read(Serial::kData), 0);  // empty FIFO reads 0
}

TEST(SerialTest, RxInterruptHasPriorityOverThre) {
  Uart u;
  u.s.Write(Serial::kIer, Serial::kIerRdi | Serial::kIerThri);
  const uint8_t c = 'x';
  u.s.EnqueueInput(&c, 1);
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc4);
  u.s.Read(Serial::kData);
  EXPECT_EQ(u.s.Read(Serial::kIir), 0xc2);
}

TEST(SerialTest, InputIsBounded) {
  Uart u;
  std::vector<uint8_t> big(1000, 'z');
  EXPECT_EQ(u.s.EnqueueInput(big.data(), big.size()), Serial::kRxCapacity);
  EXPECT_EQ(u.s.RxSpace(), 0u);
}

TEST(SerialTest, DlabSwitchesToDivisorLatch) {
  Uart u;
  u.s.Write(Serial::kLcr, 0x83);
  u.s.Write(Serial::kData, 0x01);
  u.s.Write(Serial::kIer, 0x00);
  EXPECT_EQ(u.s.Read(Serial::kData), 0x01);
  EXPECT_EQ(u.s.Read(Serial::kIer), 0x00);
  EXPECT_TRUE(u.out.empty());  // divisor writes are not output
  u.s.Write(Serial::kLcr, 0x03);
  EXPECT_EQ(u.s.Read(Serial::kLcr), 0x03);
  u.s.Write(Serial::kData, 'k');
  EXPECT_EQ(u.out, "k");
}

TEST(SerialTest, LoopbackFeedsTheReceiver) {
  Uart u;
  u.s.Write(Serial::kMcr, Serial::kMcrLoop | Serial::kMcrOut2);
  u.s.Write(Serial::kData, 'q');
  EXPECT_TRUE(u.out.empty());
  EXPECT_EQ(u.s.Read(Serial::kData), 'q');
}

struct Events {
  std::string out, control;
  int resets = 0, boots = 0, exits = 0;
  uint8_t status = 0;
  BusEvents Make() {
    BusEvents e;
    e.console_out = [this](uint8_t b) { out.push_back(static_cast<char>(b)); };
    e.control_out = [this](uint8_t b) { control.push_back(static_cast<char>(b)); };
    e.reset = [this] { resets++; };
    e.boot_done = [this] { boots++; };
    e.exit_status = [this](uint8_t s) {
      exits++;
      status = s;
    };
    return e;
  }
};

TEST(PortBusTest, RoutesDevicesAndContractPorts) {
  Events ev;
  PortBus bus(ev.Make());
  bus.Out(0x3f8, 1, 'A');
  EXPECT_EQ(ev.out, "A");
  EXPECT_EQ(bus.In(0x3fd, 1), 0x60u);
  bus.Out(0x4f0, 1, 1);
  EXPECT_EQ(ev.boots, 1);
  bus.Out(0xf4, 4, 0x1234);  // a wide write reaches the byte-wide port as its low byte
  EXPECT_EQ(ev.exits, 1);
  EXPECT_EQ(ev.status, 0x34);
  bus.Out(0x64, 1, 0xfe);
  EXPECT_EQ(ev.resets, 1);
}

TEST(PortBusTest, Com2IsTheControlChannelNotTheConsole) {
  Events ev;
  PortBus bus(ev.Make());
  for (char c : std::string("arrow:init\n")) bus.Out(0x2f8, 1, static_cast<uint8_t>(c));
  EXPECT_EQ(ev.control, "arrow:init\n");
  EXPECT_EQ(ev.out, "");
  const uint8_t stop[] = {'s', 't', 'o', 'p', '\n'};
  EXPECT_EQ(bus.ControlInput(stop, 5), 5u);
  EXPECT_EQ(bus.In(0x2fd, 1) & Serial::kLsrDr, Serial::kLsrDr);
  EXPECT_EQ(bus.In(0x2f8, 1), 's');
  EXPECT_EQ(bus.In(0x3fd, 1) & Serial::kLsrDr, 0);  // the console got nothing
}

TEST(PortBusTest, SwallowedAndUnknownPorts) {
  Events ev;
  PortBus bus(ev.Make());
  for (uint16_t p :
       {0x80, 0x70, 0x71, 0xcf8, 0xcfc, 0x2f8, 0x3e8, 0x2e8, 0x92, 0xed, 0x378, 0x3d4, 0x00, 0xc0})
    EXPECT_EQ(bus.In(p, 1), 0u) << "port 0x" << std::hex << p;
  EXPECT_EQ(bus.In(0xcfc, 4), 0u);
  EXPECT_TRUE(bus.UnknownPorts().empty());
  EXPECT_EQ(bus.In(0x2a0, 1), 0xffu);
  EXPECT_EQ(bus.In(0x2a0, 2), 0xffffu);
  EXPECT_EQ(bus.In(0x2a0, 4), 0xffffffffu);
  bus.Out(0x2a1, 1, 0);
  auto unknown = bus.UnknownPorts();
  EXPECT_EQ(unknown[0x2a0], 3u);
  EXPECT_EQ(unknown[0x2a1], 1u);
}

TEST(I8042Test, AnswersProbesAndResets) {
  int resets = 0;
  I8042 k([&] { resets++; });
  EXPECT_EQ(k.Read(4) & I8042::kStatusObf, 0);
  k.Write(4, I8042::kCmdSelfTest);
  EXPECT_EQ(k.Read(4) & I8042::kStatusObf, 1);
  EXPECT_EQ(k.Read(0), 0x55);
  k.Write(4, I8042::kCmdWriteCtr);
  k.Write(0, 0x47);
  k.Write(4, I8042::kCmdReadCtr);
  EXPECT_EQ(k.Read(0), 0x47);
  EXPECT_EQ(resets, 0);
  k.Write(4, I8042::kCmdReset);
  EXPECT_EQ(resets, 1);
}

}  // namespace
}  // namespace arrow::runner
