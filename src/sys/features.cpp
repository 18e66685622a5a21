#include "sys/features.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "sys/fd.hpp"

namespace meshcap::sys {

namespace {

// A missing or unreadable file means "disabled": no IPv6 stack at all. Read
// with one read(2) rather than a stream, and parsed by hand: the kernel
// writes "%d\n", and the number is zero when its digits are all zeros.
bool sysctl_is_zero(const char* path) {
  UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char text[32];
  ssize_t got = read(fd.get(), text, sizeof text);
  if (got <= 0) return false;
  const char* at = text;
  const char* end = text + got;
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
