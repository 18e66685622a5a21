// The xtables lock: iptables binaries hold /run/xtables.lock (flock) while
// they read-modify-write a table, so meshcap takes it too and never races one.
#pragma once

#include <chrono>

#include "meshcap/result.hpp"
#include "sys/fd.hpp"

namespace meshcap::ipt {

class XtablesLock {
 public:
  // Waits at most `wait` for the lock. Opens the file read-write (creating
  // it), or read-only when writing is refused but it exists: flock works on
  // either. Where /run is missing or read-only and holds no lock file, no
  // iptables binary sharing this mount namespace can take it either, so
  // meshcap goes on without it (and says so at debug level).
  static Result<XtablesLock> acquire(std::chrono::milliseconds wait = std::chrono::seconds(10));

 private:
  explicit XtablesLock(sys::UniqueFd fd) : fd_(std::move(fd)) {}
  sys::UniqueFd fd_;  // closing it releases the lock
};

}  // namespace meshcap::ipt
