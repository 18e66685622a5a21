#include "ipt/lock.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

namespace meshcap::ipt {

namespace {
// The path iptables (XT_LOCK_NAME) uses.
constexpr const char* kLockPath = "/run/xtables.lock";
constexpr auto kRetryInterval = std::chrono::milliseconds(50);

// Read-write (creating it) when allowed; otherwise read-only, which is enough
// for flock: a non-root init container with NET_ADMIN can then share the lock
// of a file root made, as long as it may read it.
sys::UniqueFd open_lock(int& err) {
  sys::UniqueFd fd(::open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd) return fd;
  err = errno;
  if (err != EACCES && err != EPERM && err != EROFS) return fd;
  sys::UniqueFd ro(::open(kLockPath, O_RDONLY | O_CLOEXEC));
  // On a read-only /run the second answer says more (ENOENT: there is no
  // lock anyone could take); a refused write stays refused even when the file
  // is missing, because root may still create it there.
  if (!ro && err == EROFS) err = errno;
  return ro;
}

}  // namespace

struct XtablesLock::Held {
  sys::UniqueFd fd;
  uint64_t hold = 0;
};

namespace {
// The process's hold, while any XtablesLock has it. meshcap is single
// threaded; the mutex only keeps a threaded caller (a test) correct.
std::mutex current_mutex;
std::weak_ptr<XtablesLock::Held> current;
uint64_t holds = 0;
}  // namespace

uint64_t XtablesLock::hold() const { return held_->hold; }

Result<XtablesLock> XtablesLock::acquire(std::chrono::milliseconds wait) {
  std::lock_guard guard(current_mutex);
  if (auto held = current.lock()) return XtablesLock(std::move(held));
  auto held = std::make_shared<Held>();
  held->hold = ++holds;
  int err = 0;
  sys::UniqueFd fd = open_lock(err);
  if (!fd) {
    if (err == ENOENT || err == EROFS) {
      spdlog::debug("iptables: no {} ({}); going on without the xtables lock", kLockPath, std::strerror(err));
      current = held;
      return XtablesLock(std::move(held));
    }
    std::string hint;
    if (err == EACCES || err == EPERM)
      hint = "; as a non-root user meshcap needs that file to exist and be readable by uid " +
             std::to_string(::geteuid()) + " (e.g. created with mode 0666 in the image)";
    return fail(ErrorKind::Other,
                std::string("cannot open the xtables lock ") + kLockPath + ": " + std::strerror(err) + hint);
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
  held->fd = std::move(fd);
  current = held;
  return XtablesLock(std::move(held));
}

}  // namespace meshcap::ipt
