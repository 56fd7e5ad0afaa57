// The built-in VMM's process confinement (docs/security.md, "The VMM process").
//
// RunVmm runs the VM in a child process of arrow-run. The child opens everything it needs as
// its caller (/dev/kvm, guest memory, the devices' eventfds; disk images, the TAP device and
// libslirp's listening sockets were opened before the fork), then Confine() takes away what a
// guest that broke out of KVM could use: every inherited descriptor the VMM does not need, core
// dumps and ptrace (not dumpable), more than a bounded number of descriptors, the host's file
// system (a private mount namespace whose root is an empty read-only tmpfs) and, started as
// root, root itself (an unprivileged uid/gid, no supplementary groups, no capabilities).
// Seccomp (seccomp.h) comes after, per thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace arrow::runner::jail {

struct JailOptions {
  // Run the VMM in a confined child process (arrow-run stays outside as its supervisor). Off
  // only in tests that need the VMM in their own process.
  bool enabled = true;
  bool seccomp = true;  // --no-seccomp: for debugging only
  // Started as root: the uid/gid the VMM continues as (--uid/--gid); default: nobody/nogroup.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // libslirp answers the guest's DNS queries from the host's resolver configuration: bind
  // /etc/resolv.conf (read-only) into the empty root.
  bool resolv_conf = false;
};

// The process's open descriptors, from /proc/self/fd.
std::vector<int> OpenFds();

// What Confine did, for ARROW_VMM_DEBUG and the tests.
struct Confinement {
  uid_t uid = 0;
  gid_t gid = 0;
  bool empty_root = false;  // pivot_root into the empty tmpfs happened
  std::string root_note;    // why not, when it did not (e.g. no user namespaces for non-root)
  int closed_fds = 0;
};

// In the VMM child, single-threaded, after set-up and before the first vCPU runs: closes
// `close_fds`, sets the rlimits, enters the empty root and drops privileges as described above.
// Errors name the step; the child must not run the guest after one.
Result<Confinement> Confine(const JailOptions& o, const std::vector<int>& close_fds);

// The uid/gid a root-started VMM drops to: o.uid/o.gid, else the "nobody" user and its group
// (65534 when the passwd database has no such user). Looked up before the fork: the confined
// child has no /etc.
struct Ids {
  uid_t uid;
  gid_t gid;
};
Ids DropTarget(const JailOptions& o);

}  // namespace arrow::runner::jail
