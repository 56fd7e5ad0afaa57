// The built-in VMM's run: guest loading, vCPU threads, the exit loop, console, timeout and
// teardown. See vmm.h for the contract and docs/vmm.md for every constant's origin.
#include "runner/vmm.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runner/arch/x86_64/boot_params.h"
#include "runner/arch/x86_64/vmlinux.h"
#include "runner/arch/x86_64/e820.h"
#include "runner/arch/x86_64/layout.h"
#include "runner/arch/x86_64/mptable.h"
#include "runner/arch/x86_64/page_tables.h"
#include "runner/arch/x86_64/regs.h"
#include "runner/devices/legacy/port_bus.h"
#include "runner/jail/seccomp.h"
#include "runner/stop.h"
#include "runner/terminal.h"
#include "runner/virtio_bus.h"
#include "runner/vstate/memory.h"
#include "runner/vstate/vcpu.h"
#include "runner/vstate/vm.h"

namespace arrow::runner {
namespace {

using Clock = std::chrono::steady_clock;

void OnKick(int) {}

// The vCPU kick handler and the host signals (stop.h) for the duration of a run, restored on
// every path.
class SignalScope {
 public:
  SignalScope() {
    struct sigaction sa {};
    sa.sa_handler = OnKick;  // no SA_RESTART: the kick must interrupt KVM_RUN
    sigemptyset(&sa.sa_mask);
    sigaction(Vcpu::KickSignal(), &sa, &old_kick_);
  }
  ~SignalScope() { sigaction(Vcpu::KickSignal(), &old_kick_, nullptr); }

 private:
  struct sigaction old_kick_ {};
  HostSignals host_;
};

// A bzImage's protected-mode code goes to 1 MiB (its decompressor places the kernel); an ELF
// vmlinux's PT_LOAD segments go to their physical addresses. Returns the 64-bit entry point.
Result<uint64_t> LoadLinux(GuestMemory& mem, const VmmConfig& c, const std::string& cmdline) {
  x86::LoadPlan plan;
  std::string header;
  if (x86::IsElf(c.kernel)) {
    auto k = x86::ParseVmlinux(c.kernel);
    if (!k) return k.error();
    auto p = x86::PlanVmlinuxLoad(*k, mem.low_end(), c.initrd.size(), cmdline.size());
    if (!p) return p.error();
    plan = *p;
    for (const auto& s : k->segments) {
      ARROW_TRY(mem.Write(s.paddr, s.data));
      ARROW_TRY(mem.Zero(s.paddr + s.data.size(), s.memsz - s.data.size()));
    }
    header = x86::VmlinuxSetupHeader();
  } else {
    auto k = x86::ParseBzImage(c.kernel);
    if (!k) return k.error();
    auto p = x86::PlanLinuxLoad(*k, mem.low_end(), c.initrd.size(), cmdline.size());
    if (!p) return p.error();
    plan = *p;
    ARROW_TRY(mem.Write(plan.load_addr, k->protected_mode));
    header = std::string(k->header);
  }
  if (!c.initrd.empty()) ARROW_TRY(mem.Write(plan.initrd_addr, c.initrd));
  ARROW_TRY(mem.Zero(layout::kCmdlineStart, layout::kCmdlineMaxSize));
  ARROW_TRY(mem.Write(layout::kCmdlineStart, cmdline));
  x86::ZeroPageInputs in;
  in.cmdline_addr = layout::kCmdlineStart;
  in.initrd_addr = plan.initrd_addr;
  in.initrd_size = c.initrd.size();
  in.e820 = x86::BuildE820(mem.size());
  auto zp = x86::BuildZeroPage(header, in);
  if (!zp) return zp.error();
  ARROW_TRY(mem.Write(layout::kZeroPageStart,
                      std::string_view(reinterpret_cast<const char*>(zp->data()), zp->size())));
  return plan.entry;
}

class Run {
 public:
  explicit Run(const VmmConfig& c) : c_(c), t0_(Clock::now()) {}
  ~Run() {
    StopAndJoin();
    virtio_.reset();  // before the VM and memory it points into
  }

  Status Setup();
  VmmResult Execute();

 private:
  void Finish(Outcome o, int status, std::string message);
  void VcpuLoop(Vcpu& v);
  bool HandleExit(Vcpu& v);
  bool HandleIo(Vcpu& v);
  bool HandleMmio(Vcpu& v);
  Status SetupVirtio(std::string& cmdline);
  void ConsoleLoop(bool tty);
  void ConsoleOut(uint8_t b);
  void FlushOutput();
  void WriteOutLocked();
  void StopAndJoin();

  const VmmConfig& c_;
  Clock::time_point t0_;
  std::optional<GuestMemory> mem_;
  std::optional<Vm> vm_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::unique_ptr<PortBus> bus_;
  std::vector<std::thread> threads_;
  std::thread console_;
  std::optional<VirtioBus> virtio_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  VmmResult result_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> boot_ns_{-1};
  std::atomic<int64_t> first_out_ns_{-1};
  std::atomic<uint64_t> exits_{0};

  ControlLines ctl_;  // fed by vCPU threads under the port bus's lock

  std::mutex out_mu_;
  std::string out_;
  std::string tail_;  // last console bytes, to name a kernel panic
};

Status Run::Setup() {
  auto mem = GuestMemory::Create(c_.memory);
  if (!mem) return mem.error();
  mem_.emplace(std::move(*mem));
  VmOptions vo;
  vo.irqchip = c_.kind == GuestKind::kLinux || c_.irqchip;
  auto vm = Vm::Create(vo);
  if (!vm) return vm.error();
  vm_.emplace(std::move(*vm));
  ARROW_TRY(vm_->MapMemory(*mem_));

  std::string cmdline = c_.cmdline;
  ARROW_TRY(SetupVirtio(cmdline));

  uint64_t entry = 0;
  switch (c_.kind) {
    case GuestKind::kLinux: {
      auto e = LoadLinux(*mem_, c_, cmdline);
      if (!e) return e.error();
      entry = *e;
      break;
    }
    case GuestKind::kLongMode:
      ARROW_TRY(mem_->Write(layout::kHimemStart, c_.code));
      entry = layout::kHimemStart;
      break;
    case GuestKind::kRealMode:
      if (c_.code.size() > 0x6000) return Err("real-mode guest code is larger than 24 KiB");
      ARROW_TRY(mem_->Write(layout::kRealModeEntry, c_.code));
      entry = layout::kRealModeEntry;
      break;
  }
  ARROW_TRY(x86::WriteGdtIdt(*mem_));
  ARROW_TRY(x86::WritePageTables(*mem_));
  ARROW_TRY(x86::WriteMptable(*mem_, c_.cpus));

  BusEvents ev;
  ev.console_out = [this](uint8_t b) { ConsoleOut(b); };
  ev.com1_irq = [this](bool level) {
    if (vm_->irqchip()) (void)vm_->SetIrqLine(layout::kCom1Irq, level);
  };
  ev.reset = [this] {
    Finish(Outcome::kReset, 0, "the guest reset itself (i8042) without reporting an exit status");
  };
  ev.exit_status = [this](uint8_t s) { Finish(Outcome::kExited, s, ""); };
  ev.boot_done = [this] {
    int64_t none = -1;
    boot_ns_.compare_exchange_strong(
        none, std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0_).count());
  };
  ctl_.on_trace = c_.on_trace;
  ev.control_out = [this](uint8_t b) { ctl_.Feed(static_cast<char>(b)); };
  ev.com2_irq = [this](bool level) {
    if (vm_->irqchip()) (void)vm_->SetIrqLine(layout::kCom2Irq, level);
  };
  bus_ = std::make_unique<PortBus>(std::move(ev));

  for (int i = 0; i < c_.cpus; i++) {
    auto v = Vcpu::Create(*vm_, i);
    if (!v) return v.error();
    auto vp = std::make_unique<Vcpu>(std::move(*v));
    if (c_.kind == GuestKind::kRealMode)
      ARROW_TRY(vp->ConfigureRealMode(*vm_, c_.cpus, entry));
    else
      ARROW_TRY(vp->ConfigureLongMode(*vm_, c_.cpus, entry, layout::kZeroPageStart));
    vcpus_.push_back(std::move(vp));
  }
  return Ok{};
}

// The virtio-mmio devices, in window order: the NIC, then the disks in the order given.
Status Run::SetupVirtio(std::string& cmdline) {
  if (!c_.net && c_.disks.empty()) return Ok{};
  virtio_.emplace(*vm_, *mem_);
  if (c_.net) ARROW_TRY(virtio_->AddNet(c_.net));
  for (const auto& d : c_.disks) ARROW_TRY(virtio_->AddBlock(d));
  cmdline += virtio_->Declarations();
  return Ok{};
}

void Run::Finish(Outcome o, int status, std::string message) {
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    result_.outcome = o;
    result_.status = status;
    result_.message = std::move(message);
    stop_.store(true);
  }
  cv_.notify_all();
  for (auto& v : vcpus_) v->Kick();
}

void Run::ConsoleOut(uint8_t b) {
  if (first_out_ns_.load() < 0)
    first_out_ns_.store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0_).count());
  std::lock_guard lock(out_mu_);
  out_.push_back(static_cast<char>(b));
  tail_.push_back(static_cast<char>(b));
  if (tail_.size() > 8192) tail_.erase(0, 4096);
  if (b == '\n' || out_.size() >= 4096) WriteOutLocked();
}

// Line-buffered console: one write per line (or 4 KiB), and whatever is pending every 20 ms
// from the main loop so prompts without a newline show up.
void Run::WriteOutLocked() {
  if (out_.empty()) return;
  if (c_.console_out) {
    c_.console_out(out_);
  } else {
    size_t off = 0;
    while (off < out_.size()) {
      ssize_t n = write(STDOUT_FILENO, out_.data() + off, out_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stdout gone: drop the console output, keep running the guest
      off += static_cast<size_t>(n);
    }
  }
  out_.clear();
}

void Run::FlushOutput() {
  std::lock_guard lock(out_mu_);
  WriteOutLocked();
}

bool Run::HandleIo(Vcpu& v) {
  const auto& io = v.run()->io;
  PortIoExit e{io.direction == KVM_EXIT_IO_OUT, io.size, io.port, io.count, io.data_offset};
  if (auto st = DispatchPortIo(*bus_, v.run_area(), e); !st) {
    Finish(Outcome::kCrash, 0, "vcpu " + std::to_string(v.index()) + ": " + st.message());
    return false;
  }
  return true;
}

// MMIO exits: the virtio-mmio windows; elsewhere (IOAPIC/LAPIC are in KVM) reads see an empty
// bus and writes vanish.
bool Run::HandleMmio(Vcpu& v) {
  kvm_run* r = v.run();
  if (r->mmio.len == 0 || r->mmio.len > sizeof r->mmio.data) {
    Finish(Outcome::kCrash, 0,
           "vcpu " + std::to_string(v.index()) + ": MMIO access of length " +
               std::to_string(r->mmio.len));
    return false;
  }
  const uint64_t a = r->mmio.phys_addr;
  std::span<uint8_t> data(r->mmio.data, r->mmio.len);
  if (virtio_ && virtio_->HandleMmio(a, r->mmio.is_write, data)) return true;
  if (!r->mmio.is_write) std::memset(data.data(), 0xff, data.size());
  return true;
}

bool Run::HandleExit(Vcpu& v) {
  kvm_run* r = v.run();
  const std::string who = "vcpu " + std::to_string(v.index());
  char buf[160];
  switch (r->exit_reason) {
    case KVM_EXIT_IO:
      return HandleIo(v);
    case KVM_EXIT_MMIO:
      return HandleMmio(v);
    case KVM_EXIT_INTR:
      return true;
    case KVM_EXIT_HLT:
      Finish(Outcome::kHalted, 0,
             who + ": the guest halted (HLT) without reporting an exit status");
      return false;
    case KVM_EXIT_SHUTDOWN: {
      std::string msg = who +
                        ": triple fault (KVM_EXIT_SHUTDOWN): the guest crashed or reset without "
                        "reporting an exit status";
      std::lock_guard lock(out_mu_);
      size_t p = tail_.rfind("Kernel panic - not syncing");
      if (p != std::string::npos) {
        size_t e = tail_.find('\n', p);
        msg = who + ": guest kernel panic: " + tail_.substr(p, e == std::string::npos ? e : e - p);
        while (!msg.empty() && (msg.back() == '\r' || msg.back() == ' ')) msg.pop_back();
      }
      Finish(Outcome::kTripleFault, 0, msg);
      return false;
    }
    case KVM_EXIT_SYSTEM_EVENT:
      if (r->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
        Finish(Outcome::kCrash, 0, who + ": the guest reported a crash (panic event)");
      } else {
        snprintf(buf, sizeof buf, ": the guest %s without reporting an exit status",
                 r->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ? "powered off" : "reset");
        Finish(Outcome::kReset, 0, who + buf);
      }
      return false;
    case KVM_EXIT_FAIL_ENTRY:
      snprintf(buf, sizeof buf, ": KVM could not enter the guest (hardware entry failure 0x%llx)",
               static_cast<unsigned long long>(r->fail_entry.hardware_entry_failure_reason));
      Finish(Outcome::kCrash, 0, who + buf);
      return false;
    case KVM_EXIT_INTERNAL_ERROR:
      snprintf(buf, sizeof buf, ": KVM internal error (suberror %u)", r->internal.suberror);
      Finish(Outcome::kCrash, 0, who + buf);
      return false;
    default:
      Finish(Outcome::kCrash, 0,
             who + ": unexpected KVM exit reason " + std::to_string(r->exit_reason));
      return false;
  }
}

void Run::VcpuLoop(Vcpu& v) {
  jail::EnterThread(jail::Role::kVcpu);
  v.BindThread();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, Vcpu::KickSignal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  while (!stop_.load()) {
    if (!v.RunOnce()) {
      if (errno == EINTR || errno == EAGAIN) {
        // SAFETY: our own vCPU's kvm_run; clearing immediate_exit re-arms KVM_RUN.
        __atomic_store_n(&v.run()->immediate_exit, 0, __ATOMIC_SEQ_CST);
        continue;
      }
      Finish(Outcome::kCrash, 0,
             "vcpu " + std::to_string(v.index()) + ": KVM_RUN: " + std::strerror(errno));
      return;
    }
    exits_.fetch_add(1, std::memory_order_relaxed);
    if (!HandleExit(v)) return;
  }
}

void Run::ConsoleLoop(bool tty) {
  jail::EnterThread(jail::Role::kConsole);
  bool ctrl_a = false;
  uint8_t in[256], fwd[512];
  while (!stop_.load()) {
    size_t space = bus_->ConsoleSpace();
    if (space == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int pr = poll(&p, 1, 50);
    if (pr <= 0) continue;
    ssize_t n = read(STDIN_FILENO, in, std::min(space, sizeof in));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EOF or error: the guest just gets no more input
    size_t k = 0;
    for (ssize_t i = 0; i < n; i++) {
      uint8_t b = in[i];
      if (tty && ctrl_a) {
        ctrl_a = false;
        if (b == 'x' || b == 'X') {
          Finish(Outcome::kInterrupted, 0, "quit with Ctrl-A x");
          return;
        }
        if (b != 0x01) fwd[k++] = 0x01;
        fwd[k++] = b;
      } else if (tty && b == 0x01) {
        ctrl_a = true;
      } else {
        fwd[k++] = b;
      }
    }
    size_t off = 0;
    while (off < k && !stop_.load()) {
      off += bus_->ConsoleInput(fwd + off, k - off);
      if (off < k) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

void Run::StopAndJoin() {
  stop_.store(true);
  for (auto& v : vcpus_) v->Kick();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  if (console_.joinable()) console_.join();
  if (virtio_) virtio_->Stop();
}

VmmResult Run::Execute() {
  // The kick signal stays blocked in every thread but the vCPU threads that unblock it.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, Vcpu::KickSignal());
  pthread_sigmask(SIG_BLOCK, &set, &old);
  if (virtio_) virtio_->Start();
  for (auto& v : vcpus_) threads_.emplace_back([this, vp = v.get()] { VcpuLoop(*vp); });
  std::optional<RawTerminal> term;
  bool tty = c_.console_tty;
  if (c_.console_input && !c_.console_tty) {  // in-process runs own the terminal themselves
    term.emplace(true);
    tty = term->active();
  }
  if (c_.console_input) console_ = std::thread([this, tty] { ConsoleLoop(tty); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  jail::EnterThread(jail::Role::kMain);  // last: the threads above have their own profiles

  const auto deadline = c_.timeout.count() > 0 ? t0_ + c_.timeout : Clock::time_point::max();
  GracefulStop stop(c_.stop_timeout);
  auto send_stop = [this] {
    const uint8_t msg[] = {'s', 't', 'o', 'p', '\n'};
    return c_.control_channel && ctl_.init_up() && bus_->ControlInput(msg, sizeof msg) == sizeof msg;
  };
  bool guest_up = false, ready = false;
  {
    std::unique_lock lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::milliseconds(20));
      if (done_) break;
      lock.unlock();
      FlushOutput();
      if (!guest_up && (ctl_.init_up() || boot_ns_.load() >= 0)) {
        guest_up = true;
        if (c_.on_guest_up) c_.on_guest_up();
      }
      if (!ready && ctl_.ready()) {
        ready = true;
        if (c_.on_ready) c_.on_ready();
      }
      if (auto why = stop.Tick(send_stop)) {
        Finish(Outcome::kInterrupted, 0, std::move(*why));
      } else if (Clock::now() >= deadline)
        Finish(
            Outcome::kTimeout, 0,
            "timed out after " + std::to_string(c_.timeout.count()) + " ms: the guest was stopped");
      lock.lock();
    }
  }
  StopAndJoin();
  FlushOutput();
  VmmResult r;
  {
    std::lock_guard lock(mu_);
    r = result_;
  }
  r.run_time = Clock::now() - t0_;
  r.graceful_stop = stop.requested();
  if (int64_t b = boot_ns_.load(); b >= 0) r.boot_time = std::chrono::nanoseconds(b);
  if (getenv("ARROW_VMM_DEBUG")) {
    fprintf(stderr, "arrow-run: %llu exits to the VMM; first console byte at %.1f ms\n",
            static_cast<unsigned long long>(exits_.load()),
            static_cast<double>(first_out_ns_.load()) / 1e6);
    if (virtio_) virtio_->Report(stderr);
    for (const auto& [port, n] : bus_->UnknownPorts())
      fprintf(stderr, "arrow-run: unknown port 0x%x accessed %llu times\n", port,
              static_cast<unsigned long long>(n));
    for (auto& v : vcpus_) {
      auto regs = v->Regs();
      auto sregs = v->Sregs();
      if (regs.ok() && sregs.ok())
        fprintf(stderr,
                "arrow-run: vcpu %d stopped at rip=0x%llx rsp=0x%llx cr0=0x%llx cr3=0x%llx "
                "efer=0x%llx\n",
                v->index(), static_cast<unsigned long long>(regs->rip),
                static_cast<unsigned long long>(regs->rsp),
                static_cast<unsigned long long>(sregs->cr0),
                static_cast<unsigned long long>(sregs->cr3),
                static_cast<unsigned long long>(sregs->efer));
    }
  }
  return r;
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kExited:
      return "exited";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kTripleFault:
      return "triple-fault";
    case Outcome::kReset:
      return "reset";
    case Outcome::kHalted:
      return "halted";
    case Outcome::kCrash:
      return "crash";
    case Outcome::kInterrupted:
      return "interrupted";
  }
  return "?";
}

Status CheckVmmConfig(const VmmConfig& config) {
  if (config.cpus < 1 || config.cpus > x86::kMaxCpus)
    return Err("vmm: ", std::to_string(config.cpus), " vCPUs requested; 1 to ",
               std::to_string(x86::kMaxCpus), " are supported");
  if (config.kind == GuestKind::kLinux) {  // a bad image is reported as such, before touching KVM
    if (x86::IsElf(config.kernel)) {
      auto k = x86::ParseVmlinux(config.kernel);
      if (!k) return k.error();
    } else {
      auto k = x86::ParseBzImage(config.kernel);
      if (!k) return k.error();
    }
  }
  return Ok{};
}

Result<VmmResult> RunVmmHere(const VmmConfig& config, const std::function<Status()>& after_setup) {
  ARROW_TRY(CheckVmmConfig(config));
  SignalScope signals;
  Run run(config);
  ARROW_TRY(run.Setup());
  if (after_setup) ARROW_TRY(after_setup());
  return run.Execute();
}

}  // namespace arrow::runner
