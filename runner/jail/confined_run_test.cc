// A real run through RunVmm, inspected from outside while the guest runs: the VMM is a child
// process, confined and filtered, and the supervisor gets its callbacks. The guest is a tiny
// long-mode program (this host's KVM runs those; docs/architecture.md, "Testing") that
// signals the boot timer and spins until the timeout.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runner/arch/x86_64/layout.h"
#include "runner/testing/assemble.h"
#include "runner/vmm.h"

namespace arrow::runner {
namespace {

using namespace std::chrono_literals;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Field(const std::string& status, const std::string& key) {
  const size_t p = status.find("\n" + key + ":");
  if (p == std::string::npos) return "?";
  const size_t b = status.find_first_not_of(" \t", p + key.size() + 2);
  return status.substr(b, status.find('\n', b) - b);
}

std::vector<std::string> Dir(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

// The guest: signal the boot timer (so on_guest_up fires), then spin until the timeout.
VmmConfig SpinningGuest(const std::string& code, std::chrono::milliseconds timeout) {
  VmmConfig c;
  c.kind = GuestKind::kLongMode;
  c.code = code;
  c.memory = 16ull << 20;
  c.timeout = timeout;
  c.console_input = false;
  return c;
}

constexpr char kSpin[] = ".code64\n  mov $0x4f0, %dx\n  out %al, %dx\n1: jmp 1b\n";

struct Seen {
  pid_t vmm = 0;
  std::string status, root_note;
  std::vector<std::string> threads;  // "comm Seccomp"
  size_t root_entries = 99;
  size_t fds = 0;
};

TEST(ConfinedRun, TheVmmProcessIsConfinedWhileTheGuestRuns) {
  auto code = testing::Assemble(kSpin, layout::kHimemStart);
  ASSERT_TRUE(code.ok()) << code.message();
  Seen seen;
  VmmConfig c = SpinningGuest(*code, 1500ms);
  c.on_guest_up = [&seen] {  // here, in the supervisor, while the VMM process runs the guest
    const auto kids = Slurp("/proc/self/task/" + std::to_string(getpid()) + "/children");
    seen.vmm = std::atoi(kids.c_str());
    const std::string proc = "/proc/" + std::to_string(seen.vmm);
    seen.status = Slurp(proc + "/status");
    for (const auto& t : Dir(proc + "/task")) {
      std::string comm = Slurp(proc + "/task/" + t + "/comm");
      if (!comm.empty() && comm.back() == '\n') comm.pop_back();
      if (comm.rfind("kvm-", 0) == 0) continue;  // KVM's own workers (kvm-nx-lpage-recovery) join the VM's process
      seen.threads.push_back(comm + " " + Field(Slurp(proc + "/task/" + t + "/status"), "Seccomp"));
    }
    seen.root_entries = Dir(proc + "/root").size();
    seen.fds = Dir(proc + "/fd").size();
  };
  auto r = RunVmm(c);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->outcome, Outcome::kTimeout) << r->message;
  ASSERT_GT(seen.vmm, 0) << "on_guest_up did not run while the VMM process was alive";
  EXPECT_NE(seen.vmm, getpid());
  EXPECT_EQ(Field(seen.status, "NoNewPrivs"), "1");
  EXPECT_EQ(Field(seen.status, "Seccomp"), "2");
  EXPECT_EQ(Field(seen.status, "CapEff"), geteuid() == 0 ? "0000000000000000" : Field(Slurp("/proc/self/status"), "CapEff"));
  if (geteuid() == 0) {
    EXPECT_EQ(Field(seen.status, "Uid"), "65534\t65534\t65534\t65534");
    EXPECT_EQ(Field(seen.status, "Groups"), "");
    EXPECT_EQ(seen.root_entries, 0u) << "the VMM's root is not empty";
  }
  std::sort(seen.threads.begin(), seen.threads.end());
  EXPECT_EQ(seen.threads, (std::vector<std::string>{"vcpu 2", "vmm 2"}));
  EXPECT_LE(seen.fds, 12u) << "the VMM kept more descriptors than KVM, eventfds and stdio";
}

TEST(ConfinedRun, TheSupervisorNamesAVmmProcessThatDied) {
  // The guest runs long enough for the test to kill the VMM process from the callback.
  auto code = testing::Assemble(kSpin, layout::kHimemStart);
  ASSERT_TRUE(code.ok());
  VmmConfig c = SpinningGuest(*code, 5s);
  c.on_guest_up = [] {
    const auto kids = Slurp("/proc/self/task/" + std::to_string(getpid()) + "/children");
    kill(std::atoi(kids.c_str()), SIGSEGV);
  };
  auto r = RunVmm(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "vmm: the VMM process was killed by SIGSEGV");
}

}  // namespace
}  // namespace arrow::runner
