#include "sys/lock.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>

namespace meshcap::sys {

namespace {

constexpr std::chrono::milliseconds kRetryEvery{20};

// 0 when bound, else the errno.
int try_bind(int fd) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // sun_path[0] stays '\0': an abstract name, no file.
  std::memcpy(addr.sun_path + 1, kLockName, sizeof kLockName - 1);
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + sizeof kLockName - 1);
  return bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0 ? 0 : errno;
}

std::string seconds(std::chrono::milliseconds ms) {
  auto tenths = ms.count() / 100;
  return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") + " s";
}

}  // namespace

Result<NetnsLock> lock_netns(std::chrono::milliseconds timeout) {
  // The socket belongs to the namespace of the thread that creates it.
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd)
    return fail(ErrorKind::Other,
                std::string("taking this namespace's meshcap lock: socket: ") + std::strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int err = try_bind(fd.get());
    if (err == 0) return NetnsLock(std::move(fd));
    if (err != EADDRINUSE)
      return fail(ErrorKind::Other,
                  std::string("taking this namespace's meshcap lock: bind: ") + std::strerror(err));
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kRetryEvery);
  }
  return fail(ErrorKind::Other, "another meshcap holds this namespace's lock (waited " + seconds(timeout) +
                                    "); try again when it has finished");
}

}  // namespace meshcap::sys
