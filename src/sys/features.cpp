#include "sys/features.hpp"

#include "sys/file.hpp"

namespace meshcap::sys {

namespace {

// A missing or unreadable file means "disabled": no IPv6 stack at all.
// Parsed by hand: the kernel writes "%d\n", and the number is zero when its
// digits are all zeros.
bool sysctl_is_zero(const char* path) {
  auto text = read_file(path);
  if (!text) return false;
  const char* at = text->data();
  const char* end = at + text->size();
  while (at != end && (*at == ' ' || *at == '\t' || *at == '\n')) ++at;
  if (at != end && (*at == '-' || *at == '+')) ++at;
  const char* digits = at;
  while (at != end && *at == '0') ++at;
  return at != digits && (at == end || *at < '0' || *at > '9');
}

}  // namespace

bool ipv6_enabled() {
  return sysctl_is_zero("/proc/sys/net/ipv6/conf/all/disable_ipv6") &&
         sysctl_is_zero("/proc/sys/net/ipv6/conf/lo/disable_ipv6");
}

}  // namespace meshcap::sys
