#include "sys/features.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace meshcap::sys {

namespace {

// A missing or unreadable file means "disabled": no IPv6 stack at all.
bool sysctl_is_zero(const char* path) {
  std::ifstream in(path);
  int value = -1;
  return static_cast<bool>(in >> value) && value == 0;
}

bool has_effective_cap(unsigned cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  // glibc has no capget() wrapper; libcap would be a dependency for one call.
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

bool ipv6_enabled() {
  return sysctl_is_zero("/proc/sys/net/ipv6/conf/all/disable_ipv6") &&
         sysctl_is_zero("/proc/sys/net/ipv6/conf/lo/disable_ipv6");
}

bool has_cap_net_admin() { return has_effective_cap(CAP_NET_ADMIN); }
bool has_cap_sys_admin() { return has_effective_cap(CAP_SYS_ADMIN); }

}  // namespace meshcap::sys
