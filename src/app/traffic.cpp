#include "app/traffic.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <unistd.h>

namespace meshcap::app {

namespace {

bool in_ranges(const std::vector<PortRange>& ranges, uint16_t port) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const PortRange& r) { return r.contains(port); });
}

bool contains(const Cidr& net, const Cidr& host) {
  if (net.family != host.family) return false;
  for (size_t bit = 0; bit < net.prefix; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((net.addr[bit / 8] & mask) != (host.addr[bit / 8] & mask)) return false;
  }
  return true;
}

bool excluded(const Config& c, const Cidr& host) {
  return std::any_of(c.exclude_outbound_cidrs.begin(), c.exclude_outbound_cidrs.end(),
                     [&](const Cidr& n) { return contains(n, host); });
}

// Outbound lines 6-8 must not claim the port first.
bool port_usable(const Config& c, uint16_t port) {
  return !(c.capture_dns && port == 53) && !in_ranges(c.exclude_outbound_ports, port);
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

tl::unexpected<Error> failed(const std::string& what) {
  return fail(ErrorKind::Verify, "traffic verification failed: " + what + " (use --verify rules to skip it)");
}

}  // namespace

std::optional<TrafficProbe> choose_probe(const Config& c) {
  auto self = static_cast<uint32_t>(getuid());
  auto group = static_cast<uint32_t>(getgid());
  auto owned = [](const std::vector<uint32_t>& ids, uint32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  if (owned(c.proxy_uids, self) || owned(c.proxy_gids, group)) return std::nullopt;  // line 5 wins

  // Documentation addresses (RFC 5737): if capture failed, the probe SYN goes
  // nowhere that matters.
  std::vector<Cidr> candidates;
  for (const char* a : {"192.0.2.1", "198.51.100.1", "203.0.113.1"})
    candidates.push_back(Cidr::host(Family::V4, a));

  for (const auto& r : c.include_outbound_ports)  // line 9: any destination
    for (uint32_t p = r.first; p <= r.last; ++p)
      if (port_usable(c, static_cast<uint16_t>(p)))
        return TrafficProbe{candidates.front(), static_cast<uint16_t>(p)};

  uint16_t port = 0;
  for (uint16_t p : {uint16_t{80}, uint16_t{443}, uint16_t{8080}, uint16_t{9080}, uint16_t{10080}})
    if (port_usable(c, p)) {
      port = p;
      break;
    }
  if (port == 0) return std::nullopt;

  if (!c.outbound_cidrs.all) {
    candidates.clear();
    for (auto net : c.outbound_cidrs.items) {
      if (net.family != Family::V4) continue;
      if (net.prefix < 31) net.addr[3] |= 1;  // a host inside the network
      net.prefix = 32;
      candidates.push_back(net);
    }
  }
  for (const auto& host : candidates)
    if (!excluded(c, host)) return TrafficProbe{host, port};
  return std::nullopt;
}

Result<void> verify_traffic(const Config& c, const TrafficProbe& probe) {
  Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(c.outbound_port);
  if (bind(listener.fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(listener.fd, 4) != 0)
    return failed("cannot listen on the outbound port " + std::to_string(c.outbound_port) + ": " +
                  std::strerror(errno));

  Fd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(probe.port);
  std::memcpy(&dst.sin_addr, probe.destination.addr.data(), 4);
  std::string target = probe.destination.addr_string() + ":" + std::to_string(probe.port);
  if (connect(client.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)
    return failed("connecting to " + target + ": " + std::strerror(errno));

  pollfd pfd{listener.fd, POLLIN, 0};
  if (poll(&pfd, 1, 2000) != 1)
    return failed("a connection to " + target + " did not reach the outbound port " +
                  std::to_string(c.outbound_port) + " within 2 s");
  Fd accepted(accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
  sockaddr_in orig{};
  socklen_t len = sizeof orig;
  if (accepted.fd < 0 || getsockopt(accepted.fd, SOL_IP, SO_ORIGINAL_DST, &orig, &len) != 0)
    return failed("no original destination on the captured connection: " + std::string(std::strerror(errno)));
  if (orig.sin_addr.s_addr != dst.sin_addr.s_addr || orig.sin_port != dst.sin_port)
    return failed("the captured connection's original destination is not " + target);
  return {};
}

}  // namespace meshcap::app
