// The xtables lock: iptables binaries hold /run/xtables.lock (flock) while
// they read-modify-write a table, so meshcap takes it too and never races one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

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
  //
  // The process holds the lock once: while an XtablesLock is alive, acquire()
  // shares it (no file is opened again, and two holders in one process cannot
  // wait for each other); the last one alive releases it.
  static Result<XtablesLock> acquire(std::chrono::milliseconds wait = std::chrono::seconds(10));

  // Which continuous hold this is: the same for every XtablesLock alive at
  // the same time, a new number once the lock was released and taken again.
  // What was read of the tables under one hold stays true for all of it, as
  // far as programs that take the lock are concerned.
  uint64_t hold() const;

  struct Held;  // the process's one hold (lock.cpp)

 private:
  explicit XtablesLock(std::shared_ptr<Held> held) : held_(std::move(held)) {}
  std::shared_ptr<Held> held_;  // its fd closed with the last holder releases the lock
};

}  // namespace meshcap::ipt
