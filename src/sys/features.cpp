#include "sys/features.hpp"

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

}  // namespace

bool ipv6_enabled() {
  return sysctl_is_zero("/proc/sys/net/ipv6/conf/all/disable_ipv6") &&
         sysctl_is_zero("/proc/sys/net/ipv6/conf/lo/disable_ipv6");
}

}  // namespace meshcap::sys
