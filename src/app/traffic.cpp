#include "app/traffic.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netfilter_ipv4.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "meshcap/interpret.hpp"
#include "meshcap/planner.hpp"
#include "sys/fd.hpp"

namespace meshcap::app {

namespace {

// A local address and the interface that holds it.
struct LocalAddr {
  std::string iface;
  Cidr net;   // the connected network
  Cidr host;  // the address itself
  bool loopback;
};

// The address bytes of an AF_INET or AF_INET6 sockaddr.
const uint8_t* address_bytes(const sockaddr* sa) {
  if (sa->sa_family == AF_INET)
    return reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  return reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
}

std::vector<LocalAddr> local_addresses() {
  std::vector<LocalAddr> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owned(list, freeifaddrs);
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || !a->ifa_netmask || !(a->ifa_flags & IFF_UP)) continue;
    if (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6) continue;
    LocalAddr l;
    l.iface = a->ifa_name;
    l.loopback = (a->ifa_flags & IFF_LOOPBACK) != 0;
    Family family = a->ifa_addr->sa_family == AF_INET ? Family::V4 : Family::V6;
    l.host = Cidr::host(family, address_bytes(a->ifa_addr));
    auto net = Cidr::from_mask(family, address_bytes(a->ifa_addr), address_bytes(a->ifa_netmask));
    if (!net) continue;  // the kernel only hands out prefix netmasks
    l.net = *net;
    out.push_back(l);
  }
  return out;
}

// The network's address plus `b` (host bits are zero, so this is an or).
Cidr with_last_byte(Cidr c, uint8_t b) {
  c.addr[3] = static_cast<uint8_t>(c.addr[3] | b);
  c.prefix = 32;
  return c;
}

// A host inside `net` other than `avoid`: the network's first or second address.
std::optional<Cidr> host_in(const Cidr& net, const std::optional<Cidr>& avoid = std::nullopt) {
  if (net.family != Family::V4) return std::nullopt;
  if (net.prefix >= 31)
    return net.prefix == 32 && (!avoid || *avoid != net) ? std::optional<Cidr>(net) : std::nullopt;
  for (uint8_t b : {uint8_t{1}, uint8_t{2}}) {
    Cidr h = with_last_byte(net, b);
    if (!avoid || h != *avoid) return h;
  }
  return std::nullopt;
}

// Where the namespace sends a connection to `dst`: connecting a UDP socket
// makes the kernel choose the route and the source address without sending
// anything; the interface is the one holding that source address, or lo for
// a local destination.
std::optional<Route> route_to(const Cidr& dst, const std::vector<LocalAddr>& locals) {
  bool v4 = dst.family == Family::V4;
  sys::UniqueFd sock(socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_storage to{}, from{};
  socklen_t to_len = v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6), from_len = sizeof from;
  if (v4) {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&to);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(9);
    std::memcpy(&s4->sin_addr, dst.addr.data(), 4);
  } else {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&to);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(9);
    std::memcpy(&s6->sin6_addr, dst.addr.data(), 16);
  }
  if (sock.get() < 0 || connect(sock.get(), reinterpret_cast<sockaddr*>(&to), to_len) != 0 ||
      getsockname(sock.get(), reinterpret_cast<sockaddr*>(&from), &from_len) != 0)
    return std::nullopt;
  Route r;
  r.source = Cidr::host(dst.family, address_bytes(reinterpret_cast<sockaddr*>(&from)));
  for (const auto& l : locals)
    if (l.host == dst) return Route{"lo", r.source};
  for (const auto& l : locals)
    if (l.host == r.source) return Route{l.loopback ? "lo" : l.iface, r.source};
  return std::nullopt;
}

// Destinations worth trying: documentation addresses (RFC 5737: if capture
// failed, the probe SYN goes nowhere that matters), a host in every IPv4
// network the plan names, and a neighbour on every connected network (so a
// namespace without a default route can still be probed).
std::vector<Cidr> candidate_destinations(const Table& v4, const std::vector<LocalAddr>& locals) {
  std::vector<Cidr> out;
  for (const char* a : {"192.0.2.1", "198.51.100.1", "203.0.113.1"}) out.push_back(Cidr::host(Family::V4, a));
  for (const auto& chain : v4.chains)
    for (const auto& rule : chain.rules)
      for (const auto& m : rule.matches)
        if (auto* a = std::get_if<AddrMatch>(&m); a && !a->source)
          for (const auto& net : a->cidrs)
            if (auto h = host_in(net)) out.push_back(*h);
  for (const auto& l : locals)
    if (!l.loopback)
      if (auto h = host_in(l.net, l.host)) out.push_back(*h);
  return out;
}

// Ports worth trying: common ones, then every port the plan names.
std::vector<uint16_t> candidate_ports(const Table& v4) {
  std::vector<uint16_t> out = {80, 443, 8080, 9080, 10080};
  for (const auto& chain : v4.chains)
    for (const auto& rule : chain.rules)
      for (const auto& m : rule.matches)
        if (auto* p = std::get_if<PortMatch>(&m); p && !p->source && p->proto == Proto::Tcp)
          for (const auto& r : p->ports) out.push_back(r.first);
  return out;
}

tl::unexpected<Error> failed(const std::string& what) {
  return fail(ErrorKind::Verify, "traffic verification failed: " + what + " (use --verify rules to skip it)");
}

}  // namespace

std::optional<Route> route_to(const Cidr& dst) { return route_to(dst, local_addresses()); }

std::optional<TrafficProbe> choose_probe(const Config& c) {
  Plan plan = make_plan(c);
  const Table* v4 = nullptr;
  for (const auto& t : plan.tables)
    if (t.family == Family::V4) v4 = &t;
  if (!v4) return std::nullopt;
  auto locals = local_addresses();
  auto packet = [&](const Cidr& dst, uint16_t port, const std::string& oif, std::optional<Cidr> src) {
    Packet p;
    p.direction = Direction::Outbound;
    p.dst = dst;
    p.dport = port;
    p.iface = oif;
    p.src = src;
    // Owner matches see the credentials the socket is created with.
    p.uid = static_cast<uint32_t>(geteuid());
    p.gid = static_cast<uint32_t>(getegid());
    return p;
  };
  auto to_outbound = [&](const Verdict& v) { return v.captured && !v.tproxy && v.port == c.outbound_port; };
  std::optional<TrafficProbe> unroutable;
  bool any_route = false;
  for (const auto& dst : candidate_destinations(*v4, locals)) {
    auto route = route_to(dst, locals);
    any_route = any_route || (route && route->oif != "lo");
    for (uint16_t port : candidate_ports(*v4)) {
      if (route) {
        Verdict v = classify(plan, packet(dst, port, route->oif, route->source));
        if (to_outbound(v)) return TrafficProbe{dst, port, route->oif, v.line};
      } else if (!unroutable) {
        // Would the settings capture it, were there a route through an interface?
        Verdict v = classify(plan, packet(dst, port, "", std::nullopt));
        if (to_outbound(v)) unroutable = TrafficProbe{dst, port, "", v.line};
      }
    }
  }
  // Routes through an interface exist but the settings capture nothing that
  // uses them: nothing to prove, rather than nothing that can be proven.
  if (any_route) return std::nullopt;
  return unroutable;
}

Result<void> verify_traffic(const Config& c, const TrafficProbe& probe) {
  if (probe.oif.empty())
    return failed("no connection meshcap opens can leave this namespace: it has no route to " +
                  probe.destination.addr_string() +
                  " or into any network of an interface other than lo, and what leaves through lo is never "
                  "captured (outbound line 4); run it once the pod's interface and routes are set up");
  sys::UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(c.outbound_port);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(listener.get(), 4) != 0)
    return failed("cannot listen on the outbound port " + std::to_string(c.outbound_port) + ": " +
                  std::strerror(errno));

  sys::UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(probe.port);
  std::memcpy(&dst.sin_addr, probe.destination.addr.data(), 4);
  std::string target = probe.destination.addr_string() + ":" + std::to_string(probe.port);
  spdlog::debug("--verify traffic: connecting to {} through {} ({} of the capture table)", target, probe.oif,
                probe.line);
  if (connect(client.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)
    return failed("connecting to " + target + ": " + std::strerror(errno));

  pollfd pfd{listener.get(), POLLIN, 0};
  if (poll(&pfd, 1, 2000) != 1)
    return failed("a connection to " + target + " through " + probe.oif + ", which " + probe.line +
                  " of the capture table captures, did not reach the outbound port " +
                  std::to_string(c.outbound_port) + " within 2 s");
  sys::UniqueFd accepted(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  sockaddr_in orig{};
  socklen_t len = sizeof orig;
  if (accepted.get() < 0 || getsockopt(accepted.get(), SOL_IP, SO_ORIGINAL_DST, &orig, &len) != 0)
    return failed("no original destination on the captured connection: " + std::string(std::strerror(errno)));
  if (orig.sin_addr.s_addr != dst.sin_addr.s_addr || orig.sin_port != dst.sin_port)
    return failed("the captured connection's original destination is not " + target);
  return {};
}

}  // namespace meshcap::app
