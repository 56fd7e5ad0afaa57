// Synthetic guests on the host's KVM: tiny real- and long-mode programs, assembled at test time,
// run through the same Vm, Vcpu, port bus and run loop as a Linux boot. Skipped when /dev/kvm is
// not usable. (A Linux guest cannot boot on this project's paravirtual KVM; see
// docs/architecture.md, "Testing".)
#include "runner/vmm.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <thread>

#include "runner/arch/x86_64/layout.h"
#include "runner/testing/assemble.h"
#include "runner/testing/elf_image.h"

namespace arrow::runner {
namespace {

using namespace std::chrono_literals;

struct Guest {
  VmmResult result;
  std::string console;
};

Guest RunGuest(GuestKind kind, const std::string& src, int cpus = 1, bool irqchip = true,
               std::chrono::milliseconds timeout = 5s) {
  Guest g;
  auto code = testing::Assemble(
      src, kind == GuestKind::kRealMode ? layout::kRealModeEntry : layout::kHimemStart);
  EXPECT_TRUE(code.ok()) << (code.ok() ? "" : code.message());
  if (!code.ok()) return g;
  VmmConfig c;
  c.kind = kind;
  c.code = *code;
  c.memory = 64ull << 20;
  c.cpus = cpus;
  c.irqchip = irqchip;
  c.timeout = timeout;
  c.console_input = false;
  c.console_out = [&g](std::string_view s) { g.console.append(s); };
  auto r = RunVmm(c);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.message());
  if (r.ok()) g.result = *r;
  return g;
}

class VmmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    // These guests need a KVM (every machine of this project has one): a failure, not a skip.
    ASSERT_GE(fd, 0) << "/dev/kvm is not usable here";
    close(fd);
  }
};

// Console through the UART with string I/O (rep outsb), then the exit port.
constexpr char kHelloReal[] = R"(
.code16
  mov $0x3f8, %dx
  lea msg, %si
  mov $len, %cx
  cld
  rep outsb
  mov $0xf4, %dx
  mov $42, %al
  out %al, %dx
  hlt
msg: .ascii "hello from real mode\n"
len = . - msg
)";

TEST_F(VmmTest, RealModeConsoleAndExitStatus) {
  Guest g = RunGuest(GuestKind::kRealMode, kHelloReal);
  EXPECT_EQ(g.result.outcome, Outcome::kExited) << g.result.message;
  EXPECT_EQ(g.result.status, 42);
  EXPECT_EQ(g.console, "hello from real mode\n");
}

constexpr char kHelloLong[] = R"(
.code64
  mov $0x4f0, %dx
  mov $1, %al
  out %al, %dx
  mov $0x3f8, %dx
  lea msg(%rip), %rsi
  mov $len, %ecx
  cld
  rep outsb
  mov $0xf4, %dx
  mov $3, %al
  out %al, %dx
1: jmp 1b
msg: .ascii "hello from long mode\n"
len = . - msg
)";

TEST_F(VmmTest, LongModeConsoleExitStatusAndBootTimer) {
  Guest g = RunGuest(GuestKind::kLongMode, kHelloLong);
  EXPECT_EQ(g.result.outcome, Outcome::kExited) << g.result.message;
  EXPECT_EQ(g.result.status, 3);
  EXPECT_EQ(g.console, "hello from long mode\n");
  ASSERT_TRUE(g.result.boot_time.has_value());
  EXPECT_LE(*g.result.boot_time, g.result.run_time);
}

TEST_F(VmmTest, SpinningGuestTimesOut) {
  auto start = std::chrono::steady_clock::now();
  Guest g = RunGuest(GuestKind::kLongMode, ".code64\n1: jmp 1b\n", 1, true, 300ms);
  EXPECT_EQ(g.result.outcome, Outcome::kTimeout) << g.result.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(VmmTest, TripleFaultIsReported) {
  // #UD with a zero, limit-7 IDT: #GP, double fault, triple fault -> KVM_EXIT_SHUTDOWN.
  Guest g = RunGuest(GuestKind::kLongMode, ".code64\n  ud2\n");
  EXPECT_EQ(g.result.outcome, Outcome::kTripleFault) << g.result.message;
  EXPECT_NE(g.result.message.find("triple fault"), std::string::npos) << g.result.message;
}

TEST_F(VmmTest, HltWithoutIrqchipEndsTheRun) {
  Guest g = RunGuest(GuestKind::kRealMode, ".code16\n  cli\n  hlt\n", 1, /*irqchip=*/false);
  EXPECT_EQ(g.result.outcome, Outcome::kHalted) << g.result.message;
}

TEST_F(VmmTest, HltWithIrqchipWaitsForTheTimeout) {
  // With the in-kernel LAPIC, HLT with interrupts off sleeps in KVM: only the kick ends it.
  Guest g = RunGuest(GuestKind::kRealMode, ".code16\n  cli\n  hlt\n", 1, true, 300ms);
  EXPECT_EQ(g.result.outcome, Outcome::kTimeout) << g.result.message;
}

TEST_F(VmmTest, StringInputAndSwallowedPorts) {
  // rep insb from the UART's LSR (idle: 0x60) and CMOS (0, never 0xFF); an unknown port is 0xFF.
  Guest g = RunGuest(GuestKind::kLongMode, R"(
.code64
  lea buf(%rip), %rdi
  mov $0x3fd, %dx
  mov $4, %ecx
  cld
  rep insb
  mov $0x71, %dx
  insb
  mov $0x2a0, %dx
  insb
  lea buf(%rip), %rsi
  mov $0x3f8, %dx
  mov $6, %ecx
  rep outsb
  mov $0xf4, %dx
  mov $0, %al
  out %al, %dx
buf: .fill 8, 1, 0xaa
)");
  EXPECT_EQ(g.result.outcome, Outcome::kExited) << g.result.message;
  EXPECT_EQ(g.console, std::string("\x60\x60\x60\x60\x00\xff", 6));
}

TEST_F(VmmTest, UartInterruptReachesTheGuestThroughThePic) {
  // Real mode: PIC vectors at 8, only IRQ 4 unmasked, IER.THRI on with THR empty -> the UART
  // raises its line (KVM_IRQ_LINE), the in-kernel PIC interrupts through LINT0 (ExtINT), and the
  // handler reports IIR (0xc2: THRE pending, 16550A bits) as the exit status.
  Guest g = RunGuest(GuestKind::kRealMode, R"(
.code16
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x8000, %sp
  movw $handler, 0x30
  movw $0, 0x32
  mov $0x11, %al
  out %al, $0x20
  mov $0x08, %al
  out %al, $0x21
  mov $0x04, %al
  out %al, $0x21
  mov $0x01, %al
  out %al, $0x21
  mov $0xef, %al
  out %al, $0x21
  mov $0x3f9, %dx
  mov $0x02, %al
  out %al, %dx
  sti
1: hlt
  jmp 1b
handler:
  mov $0x3fa, %dx
  in %dx, %al
  mov %al, %bl
  mov $0x3f8, %dx
  mov $'I', %al
  out %al, %dx
  mov $0xf4, %dx
  mov %bl, %al
  out %al, %dx
2: jmp 2b
)");
  EXPECT_EQ(g.result.outcome, Outcome::kExited) << g.result.message;
  EXPECT_EQ(g.result.status, 0xc2);
  EXPECT_EQ(g.console, "I");
}

TEST_F(VmmTest, SmpGuestWithIdleApsStopsCleanly) {
  // The APs wait for INIT/SIPI inside KVM; the run must still end and join them.
  Guest g = RunGuest(GuestKind::kLongMode, kHelloLong, /*cpus=*/2);
  EXPECT_EQ(g.result.outcome, Outcome::kExited) << g.result.message;
  EXPECT_EQ(g.result.status, 3);
}

TEST_F(VmmTest, I8042ResetIsAReset) {
  Guest g =
      RunGuest(GuestKind::kRealMode, ".code16\n  mov $0xfe, %al\n  out %al, $0x64\n1: jmp 1b\n");
  EXPECT_EQ(g.result.outcome, Outcome::kReset) << g.result.message;
}

// Runs `src` with a pseudo-terminal as stdin, writing `input` to it; checks the terminal mode
// is restored afterwards.
Guest RunWithTty(const std::string& src, const std::string& input) {
  int master = -1, slave = -1;
  EXPECT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  termios before{};
  tcgetattr(slave, &before);
  int saved_stdin = dup(STDIN_FILENO);
  dup2(slave, STDIN_FILENO);
  // Typed once the VMM has the terminal in raw mode (before that, the line discipline would
  // still cook it).
  std::thread typist([&] {
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(write(master, input.data(), input.size()), static_cast<ssize_t>(input.size()));
  });
  auto code = testing::Assemble(src, layout::kRealModeEntry);
  Guest g;
  if (code.ok()) {
    VmmConfig c;
    c.kind = GuestKind::kRealMode;
    c.code = *code;
    c.memory = 16ull << 20;
    c.timeout = 5s;
    c.console_out = [&g](std::string_view s) { g.console.append(s); };
    auto r = RunVmm(c);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.message());
    if (r.ok()) g.result = *r;
  }
  typist.join();
  termios after{};
  tcgetattr(STDIN_FILENO, &after);
  EXPECT_EQ(after.c_lflag, before.c_lflag) << "terminal mode not restored";
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  dup2(saved_stdin, STDIN_FILENO);
  close(saved_stdin);
  close(slave);
  close(master);
  return g;
}

// Echoes console input (polling LSR.DR) until it reads 'q'.
constexpr char kEcho[] = R"(
.code16
1: mov $0x3fd, %dx
  in %dx, %al
  test $1, %al
  jz 1b
  mov $0x3f8, %dx
  in %dx, %al
  cmp $'q', %al
  je 2f
  out %al, %dx
  jmp 1b
2: mov $0xf4, %dx
  mov $0, %al
  out %al, %dx
)";

TEST_F(VmmTest, TerminalInputReachesTheGuestRaw) {
  // Raw mode: no line buffering, ^C is a byte for the guest, not a signal for us.
  Guest g = RunWithTty(kEcho, "hi\x03 there\x01\x01q");
  EXPECT_EQ(g.result.outcome, Outcome::kExited) << g.result.message;
  EXPECT_EQ(g.console, "hi\x03 there\x01");  // Ctrl-A Ctrl-A sends one Ctrl-A
}

TEST_F(VmmTest, CtrlAXQuits) {
  Guest g = RunWithTty(kEcho, "abc\x01x");
  EXPECT_EQ(g.result.outcome, Outcome::kInterrupted) << g.result.message;
  EXPECT_EQ(g.result.message, "quit with Ctrl-A x");
}

// An ELF vmlinux's way in: segments at their physical addresses, entry in 64-bit mode with %rsi
// at a zero page that has the synthetic setup header, the command line and the segment data.
constexpr char kVmlinuxEntry[] = R"(
.code64
  mov $0xf4, %dx
  mov $1, %al
  cmp $0x7000, %rsi
  jne 9f
  mov $2, %al
  cmpl $0x53726448, 0x202(%rsi)
  jne 9f
  mov $3, %al
  mov 0x228(%rsi), %ebx
  cmpl $0x696c6d76, (%rbx)  # "vmli"
  jne 9f
  mov $4, %al
  mov $0x1200000, %ebx
  movabs $0x464c45574f525241, %rcx
  cmp %rcx, (%rbx)
  jne 9f
  mov $0x3f8, %dx
  lea msg(%rip), %rsi
  mov $len, %ecx
  cld
  rep outsb
  mov $0xf4, %dx
  mov $42, %al
9:
  out %al, %dx
1: jmp 1b
msg: .ascii "vmlinux entry\n"
len = . - msg
)";

TEST_F(VmmTest, BootsAnElfVmlinuxAtItsPhysicalAddresses) {
  constexpr uint64_t k16M = 0x1000000;
  auto code = testing::Assemble(kVmlinuxEntry, k16M);
  ASSERT_TRUE(code.ok()) << code.message();
  const std::string elf = testing::MakeElf(
      k16M, {{1, k16M, *code, 0}, {1, 0x1200000, "ARROWELF", 0x3000}});
  VmmConfig c;
  c.kind = GuestKind::kLinux;
  c.kernel = elf;
  c.cmdline = "vmlinux test";
  c.memory = 64ull << 20;
  c.timeout = 5s;
  c.console_input = false;
  std::string console;
  c.console_out = [&](std::string_view s) { console.append(s); };
  auto r = RunVmm(c);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->outcome, Outcome::kExited) << r->message;
  EXPECT_EQ(r->status, 42) << "the check that failed: 1 rsi, 2 HdrS, 3 cmdline, 4 segment data";
  EXPECT_EQ(console, "vmlinux entry\n");

  // A hostile ELF is refused before anything runs, naming what is wrong.
  const std::string low = testing::MakeElf(0x7000, {{1, 0x7000, *code, 0}});
  c.kernel = low;
  auto bad = RunVmm(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("below 1 MiB"), std::string::npos) << bad.message();
  c.memory = 16ull << 20;  // the kernel's segments end above RAM
  c.kernel = elf;
  auto small = RunVmm(c);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.message().find("give the guest more memory"), std::string::npos) << small.message();
}

TEST_F(VmmTest, RejectsNonKernel) {
  VmmConfig c;
  std::string junk(8192, 'x');
  c.kernel = junk;
  c.console_input = false;
  auto r = RunVmm(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("not a Linux bzImage"), std::string::npos) << r.message();
}

// A backend that records what the guest sends (the synthetic guest sends nothing).
class NullBackend : public net::NetBackend {
 public:
  void AddPollFds(std::vector<pollfd>&, int*, bool) override {}
  void HandlePollFds(std::span<const pollfd>) override {}
  void Send(std::span<const uint8_t>) override { sent++; }
  int mtu() const override { return 1500; }
  std::string Describe() const override { return "null"; }
  int sent = 0;
};

// The guest maps the MMIO hole (PDPT[3] -> a 2 MiB page at 3 GiB), then reads and writes the
// virtio-net window through MMIO exits: magic, version, device id, a status handshake, a
// byte-wide read of the MAC in the config space, a notify (KVM's ioeventfd or the exit path).
// Each failed check exits with its own status.
constexpr char kVirtioProbe[] = R"(
.code64
  movq $0xc003, 0xa018
  mov $0xc0000083, %eax
  mov %rax, 0xc000
  mov %cr3, %rax
  mov %rax, %cr3
  mov $0xc0001000, %ebx
  mov $0xf4, %dx
  mov (%rbx), %eax
  cmp $0x74726976, %eax
  mov $0xe1, %al
  jne 9f
  mov 4(%rbx), %eax
  cmp $2, %eax
  mov $0xe2, %al
  jne 9f
  mov 8(%rbx), %eax
  cmp $1, %eax
  mov $0xe3, %al
  jne 9f
  movl $0, 0x70(%rbx)
  movl $3, 0x70(%rbx)
  mov 0x70(%rbx), %eax
  cmp $3, %eax
  mov $0xe4, %al
  jne 9f
  movb 0x105(%rbx), %al
  cmp $0x56, %al
  mov $0xe5, %al
  jne 9f
  movl $1, 0x50(%rbx)
  mov 0x2000(%rbx), %eax
  cmp $0xffffffff, %eax
  mov $0xe6, %al
  jne 9f
  mov $0x11, %al
9: out %al, %dx
1: jmp 1b
)";

TEST_F(VmmTest, VirtioNetRegistersThroughMmioExits) {
  auto code = testing::Assemble(kVirtioProbe, layout::kHimemStart);
  ASSERT_TRUE(code.ok()) << code.message();
  VmmConfig c;
  c.kind = GuestKind::kLongMode;
  c.code = *code;
  c.memory = 64ull << 20;
  c.timeout = 5s;
  c.console_input = false;
  c.console_out = [](std::string_view) {};
  auto backend = std::make_shared<NullBackend>();
  c.net = backend;
  auto r = RunVmm(c);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->outcome, Outcome::kExited) << r->message;
  EXPECT_EQ(r->status, 0x11) << "0xe1 magic, 0xe2 version, 0xe3 device id, 0xe4 status, 0xe5 MAC, "
                                "0xe6 the unmapped window after the device";
  EXPECT_EQ(backend->sent, 0);
}

}  // namespace
}  // namespace arrow::runner
