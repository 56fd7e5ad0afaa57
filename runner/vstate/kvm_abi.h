// KVM structures whose <linux/kvm.h> definitions are wrong in C++.
//
// The uapi headers declare the trailing arrays of kvm_cpuid2 and kvm_msrs with
// __DECLARE_FLEX_ARRAY, which in C++ expands to an empty struct member: sizeof grows to 12/16
// and the entries move off offset 8. Both the ioctl numbers (they encode sizeof) and the
// layout would then disagree with the kernel (KVM_GET_SUPPORTED_CPUID fails with EINVAL).
// These headers mirror the C layout; the entries follow at offset 8.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace arrow::runner::kvm_abi {

struct CpuidHeader {
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
static_assert(sizeof(CpuidHeader) == 8 && sizeof(MsrsHeader) == 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);

}  // namespace arrow::runner::kvm_abi
