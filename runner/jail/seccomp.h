// Per-thread seccomp allowlists of the built-in VMM (docs/security.md, "Syscall filters").
//
// Every thread of the VMM process installs the profile of its role before it touches guest
// state: the vCPU threads before their first KVM_RUN, the device threads before their first
// poll, the main thread once it has started them all (a thread inherits its creator's filter, so
// the main thread's comes last). Anything outside a profile traps: the SIGSYS handler reports
// the thread's role and the syscall number on the report fd and ends the whole process with
// status 125. The handler never returns into the thread, it cannot be replaced (rt_sigaction is
// in no profile), and a thread that blocked SIGSYS is killed by the kernel instead.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::runner::jail {

enum class Role { kMain, kVcpu, kBlock, kNet, kConsole };
inline constexpr Role kRoles[] = {Role::kMain, Role::kVcpu, Role::kBlock, Role::kNet,
                                  Role::kConsole};

const char* RoleName(Role r);

// One allowed syscall: its name and, when the rule restricts arguments, how.
struct Allowed {
  std::string name;
  std::string only;  // "" = any arguments; else e.g. "KVM_RUN, KVM_IRQ_LINE" or "no PROT_EXEC"
};
std::vector<Allowed> Profile(Role r);

// The SIGSYS handler and where it reports: `report_fd` gets one message "S<role> <nr>" (a
// SOCK_SEQPACKET socket or a pipe; -1 = stderr only). Process-wide; call once before Install.
Status PrepareTrap(int report_fd);

// Installs `r`'s profile on the calling thread (PR_SET_NO_NEW_PRIVS first).
Status Install(Role r);

// The thread's role for the SIGSYS handler and for EnterThread: set by Install.
// EnterThread(r) installs `r` if confinement is on for this process (Enable), else does nothing;
// a failure reports on the report fd and ends the process with 125 (a thread cannot go on
// unconfined once confinement was asked for).
void Enable();
bool Enabled();
void EnterThread(Role r);

// "openat (257)": the name of syscall `nr` on x86_64, for the supervisor's message.
std::string SyscallName(int nr);

}  // namespace arrow::runner::jail
