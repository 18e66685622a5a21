// One meshcap at a time per network namespace (docs/commands.md, "lock").
//
// The lock is an abstract AF_UNIX socket name bound inside the namespace:
// abstract names belong to the network namespace the socket was created in,
// not to a filesystem, so a CNI plugin on the node and an init container in
// the pod (which see different /run directories) contend for the same lock;
// and the kernel frees the name with its last owner, even after kill -9.
#pragma once

#include <chrono>

#include "meshcap/result.hpp"
#include "sys/fd.hpp"

namespace meshcap::sys {

inline constexpr char kLockName[] = "meshcap.lock";  // "\0meshcap.lock" on the wire
inline constexpr std::chrono::milliseconds kLockTimeout{10000};

// Held while alive; moving it moves the lock.
class NetnsLock {
 public:
  explicit NetnsLock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;
};

// Takes the lock of the caller's current network namespace (so call it
// after enter_netns), retrying every few milliseconds for up to `timeout`.
// Errors (ErrorKind::Other): still held after `timeout` ("another meshcap
// holds this namespace's lock ... try again"), or no socket at all.
Result<NetnsLock> lock_netns(std::chrono::milliseconds timeout = kLockTimeout);

}  // namespace meshcap::sys
