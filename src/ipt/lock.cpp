#include "ipt/lock.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

namespace meshcap::ipt {

namespace {
// The path iptables (XT_LOCK_NAME) uses.
constexpr const char* kLockPath = "/run/xtables.lock";
constexpr auto kRetryInterval = std::chrono::milliseconds(50);
}  // namespace

Result<XtablesLock> XtablesLock::acquire(std::chrono::milliseconds wait) {
  sys::UniqueFd fd(::open(kLockPath, O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) {
    int err = errno;
    if (err == ENOENT || err == EROFS) {
      spdlog::debug("iptables: no {} ({}); going on without the xtables lock", kLockPath, std::strerror(err));
      return XtablesLock(sys::UniqueFd());
    }
    return fail(ErrorKind::Other,
                std::string("cannot open the xtables lock ") + kLockPath + ": " + std::strerror(err));
  }
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return fail(ErrorKind::Other,
                  std::string("cannot take the xtables lock ") + kLockPath + ": " + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(ErrorKind::Other, std::string("another program (an iptables command?) has held ") +
                                        kLockPath + " for more than " + std::to_string(wait.count()) +
                                        " ms; try again");
    std::this_thread::sleep_for(kRetryInterval);
  }
  spdlog::debug("iptables: holding {}", kLockPath);
  return XtablesLock(std::move(fd));
}

}  // namespace meshcap::ipt
