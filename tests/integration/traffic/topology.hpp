// The capture suite's topology: a `pod` namespace and a `peer` namespace,
// joined by two veth pairs, with private addresses only:
//
//   pod eth0 10.248.1.2/24 fd00:248:1::2/64  <->  peer p0 10.248.1.1 fd00:248:1::1
//   pod eth1 10.248.2.2/24 fd00:248:2::2/64  <->  peer p1 10.248.2.1 fd00:248:2::1
//   peer lo  10.248.3.1, 10.248.3.200, 10.248.4.1,
//            fd00:248:3::1, fd00:248:3::c8, fd00:248:4::1   ("far" servers)
//
// The pod's default routes go to the peer through eth0; 10.248.4.0/24 and
// fd00:248:4::/64 go through eth1 (so traffic to a routed, non-connected
// address can leave through the second interface). Names carry the pid and a
// counter; the destructor deletes both namespaces (and with them the veths).
#pragma once

#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "support/netns.hpp"
#include "integration/traffic/agents.hpp"

namespace meshcap::traffic {

// Symbolic addresses used by probes, per family.
enum class Addr {
  Pod0,     // pod eth0
  Pod1,     // pod eth1
  Peer0,    // peer end of eth0
  Peer1,    // peer end of eth1
  Far,      // peer lo, routed via eth0 (in the "included" CIDR)
  FarExcl,  // peer lo, routed via eth0 (in the excluded sub-range)
  Other,    // peer lo, routed via eth1
  Loop,     // 127.0.0.1 / ::1
  Loop2,    // 127.0.0.2 / ::1 (v6 has one loopback address)
  Pass,     // 127.0.0.6 / ::6, the inbound passthrough source
};

inline std::string addr(Fam f, Addr a) {
  bool v4 = f == Fam::V4;
  switch (a) {
    case Addr::Pod0: return v4 ? "10.248.1.2" : "fd00:248:1::2";
    case Addr::Pod1: return v4 ? "10.248.2.2" : "fd00:248:2::2";
    case Addr::Peer0: return v4 ? "10.248.1.1" : "fd00:248:1::1";
    case Addr::Peer1: return v4 ? "10.248.2.1" : "fd00:248:2::1";
    case Addr::Far: return v4 ? "10.248.3.1" : "fd00:248:3::1";
    case Addr::FarExcl: return v4 ? "10.248.3.200" : "fd00:248:3::c8";
    case Addr::Other: return v4 ? "10.248.4.1" : "fd00:248:4::1";
    case Addr::Loop: return v4 ? "127.0.0.1" : "::1";
    case Addr::Loop2: return v4 ? "127.0.0.2" : "::1";
    case Addr::Pass: return v4 ? "127.0.0.6" : "::6";
  }
  return "";
}

// Listening ports.
inline constexpr uint16_t kOutboundPort = 15001;
inline constexpr uint16_t kInboundPort = 15006;
inline constexpr uint16_t kDnsPort = 15053;
// App ports in the pod, "real server" ports in the peer (TCP, both sides).
inline const std::vector<uint16_t> kAppPorts = {53,   3299, 3300, 3306, 3310, 3311, 6379, 7000, 7005,
                                                7010, 7011, 8080, 8081, 8082, 9000, 9005, 9010, 9011};
inline constexpr uint16_t kUdpAppPort = 9999;
inline constexpr int kProxyId = 1337;  // the proxy's uid and gid (meshcap's default)  // a UDP service that is not DNS (both sides)

class Topology {
 public:
  Topology() {
    static std::atomic<int> counter{0};
    std::string base = "mc" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    pod_ = base + "-pod";
    peer_ = base + "-peer";
  }
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  ~Topology() { destroy(); }

  const std::string& pod() const { return pod_; }
  const std::string& peer() const { return peer_; }

  // Creates namespaces, links, addresses, routes and the listeners. Returns
  // "" on success or a description of what failed.
  std::string create() {
    using meshcap::test::sh;
    created_ = true;
    const std::string P = "ip -n " + pod_ + " ";
    const std::string Q = "ip -n " + peer_ + " ";
    std::vector<std::string> cmds = {
        "ip netns add " + pod_,
        "ip netns add " + peer_,
        P + "link set lo up",
        Q + "link set lo up",
        P + "link add eth0 type veth peer name p0 netns " + peer_,
        P + "link add eth1 type veth peer name p1 netns " + peer_,
        // Keep IPv6 quiet and immediate: no DAD, no router solicitations.
        "ip netns exec " + pod_ + " sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0",
        "ip netns exec " + peer_ + " sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0",
        P + "addr add 10.248.1.2/24 dev eth0",
        P + "addr add fd00:248:1::2/64 dev eth0 nodad",
        P + "addr add 10.248.2.2/24 dev eth1",
        P + "addr add fd00:248:2::2/64 dev eth1 nodad",
        Q + "addr add 10.248.1.1/24 dev p0",
        Q + "addr add fd00:248:1::1/64 dev p0 nodad",
        Q + "addr add 10.248.2.1/24 dev p1",
        Q + "addr add fd00:248:2::1/64 dev p1 nodad",
        Q + "addr add 10.248.3.1/32 dev lo",
        Q + "addr add 10.248.3.200/32 dev lo",
        Q + "addr add 10.248.4.1/32 dev lo",
        Q + "addr add fd00:248:3::1/128 dev lo",
        Q + "addr add fd00:248:3::c8/128 dev lo",
        Q + "addr add fd00:248:4::1/128 dev lo",
        P + "link set eth0 up",
        P + "link set eth1 up",
        Q + "link set p0 up",
        Q + "link set p1 up",
        P + "route add default via 10.248.1.1 dev eth0",
        P + "-6 route add default via fd00:248:1::1 dev eth0",
        P + "route add 10.248.4.0/24 via 10.248.2.1 dev eth1",
        P + "-6 route add fd00:248:4::/64 via fd00:248:2::1 dev eth1",
        Q + "route add default via 10.248.1.2 dev p0",
        Q + "-6 route add default via fd00:248:1::2 dev p0",
    };
    for (const auto& c : cmds) {
      int st = 0;
      std::string out = sh(c + " 2>&1", &st);
      if (st != 0) return "`" + c + "` failed: " + out;
    }
    std::vector<ListenSpec> pod_l, peer_l;
    for (const char* any : {"0.0.0.0", "::"}) {
      // The proxy's listeners belong to the proxy user (1337), as in a pod.
      pod_l.push_back({"outbound", any, kOutboundPort, false, false, kProxyId});
      pod_l.push_back({"inbound", any, kInboundPort, false, /*transparent=*/true, kProxyId});
      pod_l.push_back({"dns", any, kDnsPort, false, false, kProxyId});
      pod_l.push_back({"dns", any, kDnsPort, /*udp=*/true, false, kProxyId});
      pod_l.push_back({"udp-app", any, kUdpAppPort, true});
      pod_l.push_back({"local-resolver", any, 53, true});
      peer_l.push_back({"resolver", any, 53, true});
      peer_l.push_back({"udp-server", any, kUdpAppPort, true});
      for (uint16_t p : kAppPorts) {
        pod_l.push_back({"app", any, p});
        peer_l.push_back({p == 53 ? "resolver" : "server", any, p});
      }
    }
    if (auto e = pod_agents_.start(pod_, pod_l); !e.empty()) return "pod listeners: " + e;
    if (auto e = peer_agents_.start(peer_, peer_l); !e.empty()) return "peer listeners: " + e;
    return "";
  }

  void destroy() {
    pod_agents_.stop();
    peer_agents_.stop();
    if (!created_) return;
    meshcap::test::sh("ip netns del " + pod_ + " 2>/dev/null; ip netns del " + peer_ + " 2>/dev/null");
    created_ = false;
  }

 private:
  std::string pod_, peer_;
  bool created_ = false;
  ListenerSet pod_agents_, peer_agents_;
};

}  // namespace meshcap::traffic
