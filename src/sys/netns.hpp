// Entering a pod's network namespace for the length of a scope.
#pragma once

#include <string>

#include "meshcap/result.hpp"
#include "sys/fd.hpp"

namespace meshcap::sys {

// Holds the namespace to go back to. Moving it moves the duty to restore.
class NetnsGuard {
 public:
  NetnsGuard() = default;  // "stay": restores nothing
  explicit NetnsGuard(UniqueFd original) : original_(std::move(original)) {}
  NetnsGuard(NetnsGuard&&) noexcept = default;
  NetnsGuard& operator=(NetnsGuard&& other) noexcept;
  ~NetnsGuard();

  // Goes back to the original namespace now; later calls do nothing. The
  // destructor does the same but can only log a failure.
  Result<void> restore();
  bool entered() const { return static_cast<bool>(original_); }

 private:
  UniqueFd original_;
};

// Moves the calling thread into the network namespace at `path` (e.g.
// /var/run/netns/x or /proc/PID/ns/net); an empty path stays where we are.
//
// Call it before any thread exists: setns() moves only the calling thread, so
// a thread started earlier (a logger, a library's worker) would keep working
// in the old namespace, and sockets opened before the call stay bound to it.
//
// Errors: missing path or not a netns -> BadInput; no CAP_SYS_ADMIN -> Other.
Result<NetnsGuard> enter_netns(const std::string& path);

}  // namespace meshcap::sys
