// Istio's --run-validation probe, as compat facts describe it: as the proxy,
// listen on the proxy's outbound and inbound ports of the loopback address,
// dial the passthrough address on the probe port once a second, and succeed
// when an accepted connection's original destination port is the probe port.
// It lands only when the capture rules send the proxy's own connections
// through lo back inbound, so it proves those rules are in place.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "dialects/dialect.hpp"
#include "sys/fd.hpp"

namespace meshcap::dialects {

namespace {

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

Addr make_addr(bool v6, const char* host, uint16_t port) {
  Addr a;
  if (v6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&a.ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    inet_pton(AF_INET6, host, &s->sin6_addr);
    a.len = sizeof *s;
  } else {
    auto* s = reinterpret_cast<sockaddr_in*>(&a.ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    inet_pton(AF_INET, host, &s->sin_addr);
    a.len = sizeof *s;
  }
  return a;
}

Error sys_error(const std::string& what) {
  return Error{ErrorKind::Other, "validation: " + what + ": " + std::strerror(errno)};
}

Result<void> drop_to(uint32_t uid, uint32_t gid) {
  if (geteuid() == uid) return {};
  if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
    return tl::unexpected(sys_error("cannot become uid " + std::to_string(uid)));
  return {};
}

// The port the connection was addressed to before any redirect.
uint16_t original_port(int fd, bool v6) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IP6T_SO_ORIGINAL_DST : SO_ORIGINAL_DST, &ss, &len) == 0)
    return ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  // tproxy: the accepted socket's own address is the original destination.
  len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    return ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return 0;
}

}  // namespace

Result<void> run_istio_validation(const Validation& v) {
  if (auto dropped = drop_to(v.uid, v.gid); !dropped) return dropped;
  int family = v.ipv6 ? AF_INET6 : AF_INET;
  const char* local = v.ipv6 ? "::1" : "127.0.0.1";
  const char* passthrough = v.ipv6 ? "::6" : "127.0.0.6";

  std::vector<std::unique_ptr<sys::UniqueFd>> listeners;
  for (uint16_t port : {v.outbound_port, v.inbound_port}) {
    auto l = std::make_unique<sys::UniqueFd>(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (l->get() < 0) return tl::unexpected(sys_error("socket"));
    int one = 1;
    setsockopt(l->get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    Addr a = make_addr(v.ipv6, local, port);
    if (::bind(l->get(), reinterpret_cast<sockaddr*>(&a.ss), a.len) != 0 || ::listen(l->get(), 16) != 0)
      return tl::unexpected(sys_error(std::string("listen on ") + local + ":" + std::to_string(port)));
    listeners.push_back(std::move(l));
  }

  auto deadline = std::chrono::steady_clock::now() + v.timeout;
  std::vector<std::unique_ptr<sys::UniqueFd>> dials;
  for (;;) {
    // One dial a second from the loopback address to the passthrough address.
    auto c = std::make_unique<sys::UniqueFd>(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (c->get() < 0) return tl::unexpected(sys_error("socket"));
    Addr from = make_addr(v.ipv6, local, 0);
    Addr to = make_addr(v.ipv6, passthrough, v.probe_port);
    if (::bind(c->get(), reinterpret_cast<sockaddr*>(&from.ss), from.len) == 0)
      (void)::connect(c->get(), reinterpret_cast<sockaddr*>(&to.ss), to.len);
    dials.push_back(std::move(c));

    auto second = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    for (;;) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(second - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd fds[2] = {{listeners[0]->get(), POLLIN, 0}, {listeners[1]->get(), POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
      for (auto& p : fds) {
        if (!(p.revents & POLLIN)) continue;
        sys::UniqueFd accepted(::accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (accepted.get() >= 0 && original_port(accepted.get(), v.ipv6) == v.probe_port) return {};
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  return fail(ErrorKind::Other, std::string("validation failed: no connection to ") + passthrough + ":" +
                                    std::to_string(v.probe_port) + " arrived on " + local + ":" +
                                    std::to_string(v.outbound_port) +
                                    " or :" + std::to_string(v.inbound_port) +
                                    " within the probe timeout; the capture rules are not in place");
}

}  // namespace meshcap::dialects
