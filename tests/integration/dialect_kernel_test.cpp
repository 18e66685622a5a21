// --drop-invalid with real traffic on both backends, and Istio's validation
// probe (`--run-validation`) run unprivileged against a namespace without and
// with capture rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "integration/traffic/loaders.hpp"
#include "integration/traffic/probes.hpp"
#include "integration/traffic/topology.hpp"
#include "support/named_netns.hpp"
#include "support/netns.hpp"

namespace meshcap::traffic {
namespace {

using meshcap::test::sh;

// Sends one bare TCP segment (ACK, or FIN+ACK) from SRC to DST:PORT through
// a raw socket, and says "rst" when DST answers with a reset, "nothing" when
// it stays silent. With nf_conntrack_tcp_loose=0 conntrack marks such a
// segment, which belongs to no connection, INVALID.
constexpr const char* kBareSegment = R"PY(
import random, socket, struct, sys, time
src, dst, dport, flags = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sport = random.randint(20000, 60000)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
tcp = struct.pack("!HHIIBBHHH", sport, dport, 123456, 654321, 5 << 4, flags, 65535, 0, 0)
pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, 6, len(tcp))
tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.bind((src, 0))
s.sendto(tcp, (dst, 0))
end = time.time() + 1.5
while time.time() < end:
    r.settimeout(max(0.01, end - time.time()))
    try:
        data, addr = r.recvfrom(65535)
    except socket.timeout:
        break
    t = data[(data[0] & 0xf) * 4:]
    sp, dp = struct.unpack("!HH", t[:4])
    if addr[0] == dst and sp == dport and dp == sport and t[13] & 0x04:
        print("rst"); sys.exit(0)
print("nothing")
)PY";

constexpr int kAck = 0x10;
constexpr int kFinAck = 0x11;

std::string bare_segment(const Topology& topo, int flags) {
  std::string script = write_temp(kBareSegment);
  std::string out = sh("ip netns exec " + topo.peer() + " /usr/bin/python3 " + script + " " +
                       addr(Fam::V4, Addr::Peer0) + " " + addr(Fam::V4, Addr::Pod0) + " 7777 " +
                       std::to_string(flags) + " 2>&1");
  std::remove(script.c_str());
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class DropInvalid : public ::testing::TestWithParam<std::string> {};

TEST_P(DropInvalid, InvalidSegmentsAreDroppedOnlyWithTheSetting) {
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";
  const std::string backend = GetParam();
  Topology topo;
  ASSERT_EQ(topo.create(), "");
  auto meshcap = [&](const std::string& args) {
    int st = 0;
    std::string out = run_in(topo.pod(), meshcap_binary() + " " + args + " --backend " + backend, &st);
    return std::make_pair(st, out);
  };

  auto [st, out] = meshcap("apply --ipv6 off");
  ASSERT_EQ(st, 0) << out;
  ASSERT_EQ(sh("ip netns exec " + topo.pod() + " sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>&1"), "");
  EXPECT_EQ(bare_segment(topo, kAck), "rst") << "without --drop-invalid the pod answers the stray ACK";

  std::tie(st, out) = meshcap("apply --ipv6 off --drop-invalid");
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(bare_segment(topo, kAck), "nothing") << "the INVALID ACK must be dropped";
  EXPECT_EQ(bare_segment(topo, kFinAck), "nothing") << "the INVALID FIN must be dropped";
  // A real connection still lands on the proxy.
  auto o = run_probe(topo, P("Inbound 4", "a valid connection").peer().to(Addr::Pod0, 8080).to_inbound(), Fam::V4);
  EXPECT_EQ(o.failure, "") << o.probe;

  // Read back: check finds exactly the planned rules, and the kernel holds the drop.
  std::tie(st, out) = meshcap("check --ipv6 off --drop-invalid");
  EXPECT_EQ(st, 0) << out;
  std::tie(st, out) = meshcap("check --ipv6 off");
  EXPECT_NE(st, 0) << "check without --drop-invalid must see the extra chain: " << out;
  std::string held = backend == "nft" ? sh("ip netns exec " + topo.pod() + " nft list table ip meshcap")
                                      : sh("ip netns exec " + topo.pod() + " iptables-legacy-save -t mangle");
  EXPECT_NE(held.find(backend == "nft" ? "ct state invalid drop" : "-m state --state INVALID -j DROP"),
            std::string::npos)
      << held;

  // Without the setting the drop goes again.
  std::tie(st, out) = meshcap("apply --ipv6 off");
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(bare_segment(topo, kAck), "rst");
}

INSTANTIATE_TEST_SUITE_P(Backends, DropInvalid, ::testing::Values("nft", "iptables"));

// --self-ports with real traffic on both backends: the proxy's calls to its
// own pod land inbound on the listed ports even when nothing is captured
// inbound, and go straight to the app on the others.
class SelfPorts : public ::testing::TestWithParam<std::string> {};

TEST_P(SelfPorts, TheProxysOwnCallsLandInboundOnTheListedPortsOnly) {
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";
  Topology topo;
  ASSERT_EQ(topo.create(), "");
  int st = 0;
  std::string out = run_in(topo.pod(), meshcap_binary() + " apply --ipv6 off --inbound-ports '' --backend " +
                                           GetParam() + " --self-ports 1-8999,9001-65535",
                           &st);
  ASSERT_EQ(st, 0) << out;
  auto proxy = [](const std::string& what) { return P("Outbound 3", what).pod().as(kProxyId, kProxyId); };
  for (const auto& p : {proxy("a listed port").to(Addr::Pod0, 8080).to_inbound(),
                        proxy("a listed port, second address").to(Addr::Pod1, 7005).to_inbound(),
                        proxy("the port left out").to(Addr::Pod0, 9000).direct("app"),
                        P("Outbound 4", "the app").pod().as(5000, 5000).to(Addr::Pod0, 8080).direct("app"),
                        P("Inbound 4", "nothing inbound").peer().to(Addr::Pod0, 8080).direct("app")}) {
    auto o = run_probe(topo, p, Fam::V4);
    EXPECT_EQ(o.failure, "") << o.probe << ": " << o.raw;
  }
  out = run_in(topo.pod(), meshcap_binary() + " check --ipv6 off --inbound-ports '' --backend " + GetParam() +
                               " --self-ports 1-8999,9001-65535",
               &st);
  EXPECT_EQ(st, 0) << out;
}

INSTANTIATE_TEST_SUITE_P(Backends, SelfPorts, ::testing::Values("nft", "iptables"));

// ---- Istio's validation probe

const std::string kIstioArgs =
    " istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x '' -b '*' -d 15090,15021,15020";

int validate_as_proxy(const std::string& ns, std::string* out) {
  int st = 0;
  *out = sh("ip netns exec " + ns + " setpriv --reuid 1337 --regid 1337 --clear-groups " + meshcap_binary() +
                " istio-iptables --run-validation --skip-rule-apply --probe-timeout 2s 2>&1",
            &st);
  return st;
}

TEST(IstioValidation, FailsWith126WithoutRulesAndPassesWithThem) {
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";
  meshcap::test::NamedNetns ns;
  ASSERT_TRUE(ns.ok());
  std::string out;
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 126) << out;

  int st = 0;
  out = sh("ip netns exec " + ns.name() + " " + meshcap_binary() + kIstioArgs + " 2>&1", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 0) << out;

  // Istio's own validation container in CNI mode, as root: it still probes as the proxy.
  out = sh("ip netns exec " + ns.name() + " " + meshcap_binary() +
               " istio-iptables --run-validation --skip-rule-apply --probe-timeout 2s 2>&1",
           &st);
  EXPECT_EQ(st, 0) << out;

  // Cleaned up, the probe fails again.
  out = sh("ip netns exec " + ns.name() + " " + meshcap_binary() + " istio-iptables --cleanup-only 2>&1", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 126) << out;
}

// The pod's eth0 (a veth, up) with a global IPv6 address: what Istio's
// probe looks at to choose its family.
void add_ipv6_pod_address(const std::string& in) {
  ASSERT_EQ(sh(in + "ip link add eth0 type veth peer name eth0p 2>&1"), "");
  ASSERT_EQ(sh(in + "ip link set eth0 up 2>&1"), "");
  ASSERT_EQ(sh(in + "ip link set eth0p up 2>&1"), "");
  ASSERT_EQ(sh(in + "ip -6 addr add fd00:248:9::2/64 dev eth0 nodad 2>&1"), "");
}

// An IPv6-only pod: Istio's first global address is IPv6, so it programs
// IPv6 and its probe listens on [::1] and dials ::6 (validator.go decides by
// the pod's address; tools/common/config/config.go finds it).
TEST(IstioValidation, AnIpv6PodIsProbedOverIpv6) {
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";
  meshcap::test::NamedNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string in = "ip netns exec " + ns.name() + " ";
  ASSERT_NO_FATAL_FAILURE(add_ipv6_pod_address(in));

  std::string out;
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 126) << out;
  EXPECT_NE(out.find("::6"), std::string::npos) << "the probe must dial ::6: " << out;

  int st = 0;
  out = sh(in + meshcap_binary() + kIstioArgs + " 2>&1", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(sh(in + "nft list table ip6 meshcap 2>&1; " + in + "ip6tables-legacy-save 2>&1").find("15006"),
            std::string::npos)
      << "an IPv6-only pod gets IPv6 rules, as Istio gives it";
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 0) << out;

  // The IPv4 probe would not have passed on these rules: without IPv4 rules
  // 127.0.0.6 is not sent inbound.
  out = sh(in + meshcap_binary() + " istio-iptables --cleanup-only 2>&1", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 126) << out;
}

// A dual-stack pod lists its IPv4 address first: Istio probes over IPv4 even
// with --dual-stack.
TEST(IstioValidation, ADualStackPodIsProbedOverIpv4) {
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";
  meshcap::test::NamedNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string in = "ip netns exec " + ns.name() + " ";
  ASSERT_NO_FATAL_FAILURE(add_ipv6_pod_address(in));
  ASSERT_EQ(sh(in + "ip addr add 10.248.9.2/24 dev eth0 2>&1"), "");
  std::string out;
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 126) << out;
  EXPECT_NE(out.find("127.0.0.6"), std::string::npos) << out;
  int st = 0;
  out = sh(in + meshcap_binary() + kIstioArgs + " --dual-stack 2>&1", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 0) << out;
}

TEST(IstioValidation, PassesWithIstiosOwnRules) {
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";
  meshcap::test::NamedNetns ns;
  ASSERT_TRUE(ns.ok());
  std::string rules =
      "*nat\n:ISTIO_IN_REDIRECT - [0:0]\n:ISTIO_OUTPUT - [0:0]\n-A OUTPUT -p tcp -j ISTIO_OUTPUT\n"
      "-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006\n"
      "-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN\n"
      "-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m tcp ! --dport 15008 -m owner --uid-owner 1337 -j "
      "ISTIO_IN_REDIRECT\n"
      "-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN\nCOMMIT\n";
  std::string file = write_temp(rules);
  int st = 0;
  std::string out = run_in(ns.name(), "iptables-legacy-restore < " + file, &st);
  std::remove(file.c_str());
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(validate_as_proxy(ns.name(), &out), 0) << out;
}

// Linkerd's --timeout-close-wait-secs sets the namespace's conntrack timeout.
TEST(LinkerdCommandLine, SetsTheCloseWaitTimeoutInTheNamespace) {
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";
  meshcap::test::NamedNetns ns;
  ASSERT_TRUE(ns.ok());
  int st = 0;
  std::string out = sh("ip netns exec " + ns.name() + " " + meshcap_binary() +
                           " --incoming-proxy-port 4143 --outgoing-proxy-port 4140 --proxy-uid 2102"
                           " --timeout-close-wait-secs 33 -w --iptables-mode nft 2>&1",
                       &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("unnecessary"), std::string::npos) << out;
  EXPECT_EQ(sh("ip netns exec " + ns.name() + " sysctl -n net.netfilter.nf_conntrack_tcp_timeout_close_wait"),
            "33\n");
}

// A bad value of either mesh's flag touches nothing.
TEST(DialectBadInput, NothingIsTouched) {
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";
  meshcap::test::NamedNetns ns;
  ASSERT_TRUE(ns.ok());
  for (const std::string& args : {kIstioArgs + " -q 99999", std::string(" istio-iptables --bogus"),
                                 std::string(" --incoming-proxy-port 4143 --outgoing-proxy-port 4140 "
                                             "--subnets-to-ignore 10.0.0.0/99"),
                                 std::string(" linkerd-proxy-init --dns 1")}) {
    int st = 0;
    std::string out = sh("ip netns exec " + ns.name() + " " + meshcap_binary() + args + " 2>&1", &st);
    EXPECT_EQ(st, 2) << args << ": " << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    EXPECT_EQ(sh("ip netns exec " + ns.name() + " nft list ruleset"), "") << args;
    EXPECT_EQ(sh("ip netns exec " + ns.name() + " iptables-legacy-save | grep -c -- '-A' || true"), "0\n") << args;
  }
}

}  // namespace
}  // namespace meshcap::traffic
