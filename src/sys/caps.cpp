#include "sys/caps.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace meshcap::sys {

bool raise_permitted_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  // glibc has no capget()/capset() wrappers; libcap would be a dependency for two calls.
  if (syscall(SYS_capget, &header, data) != 0) return false;
  bool raise = false;
  for (auto& d : data) {
    raise = raise || d.effective != d.permitted;
    d.effective = d.permitted;
  }
  return !raise || syscall(SYS_capset, &header, data) == 0;
}

}  // namespace meshcap::sys
