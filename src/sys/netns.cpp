#include "sys/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace meshcap::sys {

NetnsGuard& NetnsGuard::operator=(NetnsGuard&& other) noexcept {
  if (this != &other) {
    // Overwriting a guard must not silently drop its duty to go back.
    (void)restore();
    original_ = std::move(other.original_);
  }
  return *this;
}

NetnsGuard::~NetnsGuard() {
  if (auto r = restore(); !r) spdlog::debug("{}", r.error().message);
}

Result<void> NetnsGuard::restore() {
  if (!original_) return {};
  UniqueFd fd = std::move(original_);
  if (setns(fd.get(), CLONE_NEWNET) != 0)
    return fail(ErrorKind::Other,
                std::string("returning to the original network namespace: ") + std::strerror(errno));
  spdlog::debug("returned to the original network namespace");
  return {};
}

Result<NetnsGuard> enter_netns(const std::string& path) {
  if (path.empty()) return NetnsGuard{};

  // thread-self, not self: setns() moves only this thread, and "self" names
  // the main thread's namespace.
  UniqueFd original(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original)
    return fail(ErrorKind::Other, std::string("opening /proc/thread-self/ns/net: ") + std::strerror(errno));

  UniqueFd target(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target) {
    int err = errno;
    if (err == EACCES || err == EPERM)
      return fail(ErrorKind::Other,
                  "opening network namespace " + path + ": " + std::strerror(err) + "; run as root");
    return fail(ErrorKind::BadInput, "network namespace " + path + ": " + std::strerror(err) +
                                         "; pass the path of an existing namespace");
  }

  if (setns(target.get(), CLONE_NEWNET) != 0) {
    int err = errno;
    if (err == EPERM) return fail(ErrorKind::Other, "entering a network namespace needs CAP_SYS_ADMIN");
    if (err == EINVAL)  // a file that is not a namespace, or another kind of namespace
      return fail(ErrorKind::BadInput, path + " is not a network namespace");
    return fail(ErrorKind::Other, "entering network namespace " + path + ": " + std::strerror(err));
  }
  spdlog::debug("entered network namespace {}", path);
  return NetnsGuard(std::move(original));
}

}  // namespace meshcap::sys
