// Real traffic proving every line of the capture table (docs/capture.md),
// for IPv4 and IPv6.
//
// Each test builds a throwaway topology (traffic/topology.hpp: a pod and a
// peer namespace joined by eth0 and eth1), loads one configuration's rules
// into the pod with one loader (traffic/loaders.hpp), then runs a list of
// probes (traffic/probes.hpp) for both families: real TCP connections, UDP
// datagrams and ICMP echoes, each asserting the listener it landed on and the
// original destination that listener recovered. One topology and one
// configuration serve many probes; each probe names the line it is about.
//
// Where a probe must land comes from the plan's interpreter applied to the
// plan of the scenario's settings (traffic/oracle.hpp), so the tests and the
// planner cannot agree on a mistake by both copying the table. The probes of
// Defaults, Dns and Tproxy keep hand-written landings as a cross-check: the
// interpreter must agree with them, and the Reference loader (a hand-written
// ruleset, traffic/reference.hpp) must pass the interpreter's expectations.
//
//   Capture/<Scenario>_<Loader>      expected outcomes, per loader
//   RenderingsAgree/<Scenario>       nft and iptables renderings (and `apply`
//                                    when enabled) give identical outcomes
//
// MeshcapApply (the binary programming the rules itself, `ip netns exec POD
// meshcap apply --verify rules ...`, with the default backend and with
// --backend iptables) is one more loader.
// MCTEST_CAPTURE_VERBOSE=1 prints every probe and what it got;
// MCTEST_CAPTURE_BINARY=/path/meshcap tests another binary.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "support/netns.hpp"
#include "integration/traffic/loaders.hpp"
#include "integration/traffic/oracle.hpp"
#include "integration/traffic/probes.hpp"
#include "integration/traffic/topology.hpp"

namespace meshcap::traffic {
namespace {

constexpr uint32_t kProxy = 1337;
constexpr uint32_t kApp = 5000;

// An app process: uid and gid 5000, no supplementary groups.
Probe App(std::string line, std::string what) { return P(std::move(line), std::move(what)).pod().as(kApp, kApp); }
// The proxy: uid and gid 1337.
Probe Proxy(std::string line, std::string what) { return P(std::move(line), std::move(what)).pod().as(kProxy, kProxy); }
// A process with only the proxy gid.
Probe ProxyGid(std::string line, std::string what) { return P(std::move(line), std::move(what)).pod().as(kApp, kProxy); }
Probe Peer(std::string line, std::string what) { return P(std::move(line), std::move(what)).peer(); }

std::vector<Probe> pings() {
  return {
      P("ICMP", "peer pings the pod").peer().ping(Addr::Pod0),
      P("ICMP", "pod pings the peer").pod().ping(Addr::Peer0),
      P("ICMP", "pod pings a routed address via eth1").pod().ping(Addr::Other),
  };
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> s;

  s.push_back({"Defaults", {}, {
      Peer("Inbound 4", "inbound * captures an app port").to(Addr::Pod0, 8080).to_inbound().seen_from(Addr::Peer0),
      Peer("Inbound 4", "inbound * captures any port").to(Addr::Pod0, 7005).to_inbound(),
      Peer("Inbound 4", "inbound * on the second interface").to(Addr::Pod1, 8080).to_inbound().seen_from(Addr::Peer1),
      App("Outbound 11", "outbound * to the peer").to(Addr::Peer0, 8080).to_outbound(),
      App("Outbound 11", "outbound * to a routed address").to(Addr::Far, 8080).to_outbound(),
      App("Outbound 11", "outbound * leaving through eth1").to(Addr::Other, 8080).to_outbound(),
      App("Outbound 11", "TCP to port 53 without DNS capture is ordinary").to(Addr::Peer0, 53).to_outbound(),
      Proxy("Outbound 3", "proxy uid calls the pod's own IP").to(Addr::Pod0, 8080).to_inbound(),
      Proxy("Outbound 3", "proxy uid calls the pod's eth1 IP").to(Addr::Pod1, 8081).to_inbound(),
      ProxyGid("Outbound 3", "proxy gid only calls the pod's own IP").to(Addr::Pod0, 8080).to_inbound(),
      Proxy("Outbound 2", "proxy from the passthrough source to the app").from_addr(Addr::Pass).to(Addr::Pod0, 8080).direct("app").seen_from(Addr::Pass),
      App("Outbound 2", "app from the passthrough source to the app").from_addr(Addr::Pass).to(Addr::Pod0, 8080).direct("app"),
      App("Outbound 4", "app calls its own pod IP").to(Addr::Pod0, 8080).direct("app"),
      P("Outbound 4", "root calls its own pod IP").pod().to(Addr::Pod0, 8080).direct("app"),
      App("Outbound 4", "app calls its eth1 IP").to(Addr::Pod1, 8080).direct("app"),
      Proxy("Outbound 5", "proxy uid upstream").to(Addr::Peer0, 8080).direct("server"),
      ProxyGid("Outbound 5", "proxy gid only upstream").to(Addr::Peer0, 8080).direct("server"),
      Proxy("Outbound 5", "proxy uid upstream, routed").to(Addr::Far, 8080).direct("server"),
      App("Outbound 6", "app to loopback").to(Addr::Loop, 8080).direct("app"),
      App("Outbound 6", "app to 127.0.0.2").to(Addr::Loop2, 8080).direct("app").v4only(),
      Proxy("Outbound 6", "proxy to loopback (Outbound 3 needs a non-loopback destination)").to(Addr::Loop, 8080).direct("app"),
      App("Outbound UDP", "DNS over UDP without DNS capture").udp().to(Addr::Peer0, 53).direct("resolver"),
      App("Outbound UDP", "other UDP untouched").udp().to(Addr::Peer0, kUdpAppPort).direct("udp-server"),
      Peer("Inbound UDP", "inbound UDP untouched").udp().to(Addr::Pod0, kUdpAppPort).direct("udp-app"),
  }});

  s.push_back({"InboundPortList", {"--inbound-ports=8081,9000-9010", "--exclude-inbound-ports=9005"}, {
      Peer("Inbound 4", "listed port").to(Addr::Pod0, 8081).seen_from(Addr::Peer0),
      Peer("Inbound 4", "range start").to(Addr::Pod0, 9000),
      Peer("Inbound 3", "excluded port inside the listed range").to(Addr::Pod0, 9005),
      Peer("Inbound 4", "range end").to(Addr::Pod0, 9010),
      Peer("Inbound 4", "just past the range").to(Addr::Pod0, 9011),
      Peer("Inbound 4", "unlisted port").to(Addr::Pod0, 8080),
      Peer("Inbound 4", "unlisted port, eth1").to(Addr::Pod1, 8082),
      Proxy("Outbound 3", "proxy to own IP, listed port").to(Addr::Pod0, 8081),
      ProxyGid("Outbound 3", "proxy gid to own IP, port in range").to(Addr::Pod0, 9000),
      Proxy("Outbound 3", "proxy to own IP, listed but excluded port").to(Addr::Pod0, 9005),
      Proxy("Outbound 5", "proxy to own IP, port not captured inbound").to(Addr::Pod0, 8080),
      App("Outbound 11", "outbound unaffected").to(Addr::Peer0, 8080),
  }});

  s.push_back({"InboundNone", {"--inbound-ports="}, {
      Peer("Inbound 4", "empty list captures nothing").to(Addr::Pod0, 8080).seen_from(Addr::Peer0),
      Peer("Inbound 4", "empty list captures nothing (2)").to(Addr::Pod0, 8081),
      Proxy("Outbound 3", "proxy to own IP: nothing is captured inbound").to(Addr::Pod0, 8080),
      App("Outbound 11", "outbound unaffected").to(Addr::Peer0, 8080),
  }});

  s.push_back({"ExcludeInboundPorts", {"--exclude-inbound-ports=7000-7010,8081"}, {
      Peer("Inbound 3", "range start").to(Addr::Pod0, 7000),
      Peer("Inbound 3", "inside range").to(Addr::Pod0, 7005),
      Peer("Inbound 3", "range end").to(Addr::Pod0, 7010),
      Peer("Inbound 3", "single port").to(Addr::Pod0, 8081),
      Peer("Inbound 4", "just past the range").to(Addr::Pod0, 7011),
      Peer("Inbound 4", "other port").to(Addr::Pod0, 8080),
      Proxy("Outbound 3", "proxy to own IP, excluded inbound port").to(Addr::Pod0, 7005),
      Proxy("Outbound 3", "proxy to own IP, captured port").to(Addr::Pod0, 8080),
      App("Outbound 11", "excluded inbound ports do not affect outbound").to(Addr::Peer0, 7005),
  }});

  s.push_back({"ExcludeInterface", {"--exclude-interfaces=eth1", "--capture-dns"}, {
      Peer("Inbound 1", "arriving on the excluded interface").to(Addr::Pod1, 8080).seen_from(Addr::Peer1),
      Peer("Inbound 1", "arriving on the excluded interface (2)").to(Addr::Pod1, 7005),
      Peer("Inbound 4", "arriving on eth0 still captured").to(Addr::Pod0, 8080),
      App("Outbound 1", "leaving through the excluded interface").to(Addr::Peer1, 8080),
      App("Outbound 1", "bound to the excluded interface (SO_BINDTODEVICE)").dev("eth1").to(Addr::Peer1, 8081),
      App("Outbound 1", "routed through the excluded interface").to(Addr::Other, 8080),
      App("Outbound 1", "DNS/UDP through the excluded interface").udp().to(Addr::Peer1, 53),
      App("Outbound 1", "DNS/TCP through the excluded interface").to(Addr::Peer1, 53),
      App("Outbound 11", "leaving through eth0 still captured").to(Addr::Peer0, 8080),
      App("Outbound 7", "DNS/UDP through eth0 still captured").udp().to(Addr::Peer0, 53),
      Proxy("Outbound 3", "proxy to the eth1 IP leaves through lo").to(Addr::Pod1, 8080),
  }});

  s.push_back({"VirtInterface", {"--virt-interfaces=eth1", "--exclude-inbound-ports=7000-7010"}, {
      Peer("Inbound 2", "virt interface to the outbound port").to(Addr::Pod1, 8080).seen_from(Addr::Peer1),
      Peer("Inbound 2", "virt interface beats exclude-inbound-ports").to(Addr::Pod1, 7005),
      Peer("Inbound 2", "virt interface, any port").to(Addr::Pod1, 9011),
      Peer("Inbound 4", "eth0 still to the inbound port").to(Addr::Pod0, 8080),
      Peer("Inbound 3", "eth0 excluded port").to(Addr::Pod0, 7005),
      Peer("Inbound UDP", "virt interface UDP untouched").udp().to(Addr::Pod1, kUdpAppPort),
      App("Outbound 11", "outbound through the virt interface as usual").to(Addr::Other, 8080),
  }});

  s.push_back({"OutboundPorts",
               {"--exclude-outbound-ports=3300-3310,6000", "--include-outbound-ports=6379,3306",
                "--exclude-outbound-cidrs=10.248.3.0/24,fd00:248:3::/64"},
               {
      App("Outbound 8", "excluded port beats included port").to(Addr::Peer0, 3306),
      App("Outbound 8", "range start").to(Addr::Peer0, 3300),
      App("Outbound 8", "range end").to(Addr::Peer0, 3310),
      App("Outbound 11", "just past the range").to(Addr::Peer0, 3311),
      App("Outbound 11", "just before the range").to(Addr::Peer0, 3299),
      App("Outbound 9", "included port beats exclude-outbound-cidrs").to(Addr::Far, 6379),
      App("Outbound 10", "excluded CIDR").to(Addr::Far, 8080),
      App("Outbound 8", "excluded port into an excluded CIDR").to(Addr::Far, 3306),
      App("Outbound 11", "other destinations captured").to(Addr::Peer0, 8080),
      Peer("Inbound 4", "outbound port lists do not affect inbound").to(Addr::Pod0, 3306),
      Proxy("Outbound 3", "nor the proxy calling its own IP").to(Addr::Pod0, 3306),
  }});

  s.push_back({"OutboundCidrs",
               {"--outbound-cidrs=10.248.3.0/24,fd00:248:3::/64",
                "--exclude-outbound-cidrs=10.248.3.128/25,fd00:248:3::80/121", "--include-outbound-ports=6379"},
               {
      App("Outbound 9", "included port to an unlisted destination").to(Addr::Peer0, 6379),
      App("Outbound 11", "listed CIDR").to(Addr::Far, 8080),
      App("Outbound 10", "excluded sub-range beats the listed CIDR").to(Addr::FarExcl, 8080),
      App("Outbound 12", "not listed").to(Addr::Peer0, 8080),
      App("Outbound 12", "not listed, through eth1").to(Addr::Other, 8080),
      App("Outbound 12", "TCP/53 not listed").to(Addr::Peer0, 53),
      Peer("Inbound 4", "inbound unaffected").to(Addr::Pod0, 8080),
      Proxy("Outbound 3", "proxy to own IP unaffected").to(Addr::Pod0, 8080),
  }});

  s.push_back({"V4CidrNeverAffectsV6", {"--exclude-outbound-cidrs=10.248.0.0/16"}, {
      App("Outbound 10", "v4 excluded").to(Addr::Peer0, 8080).v4only(),
      App("Outbound 10", "v4 excluded, routed").to(Addr::Far, 8080).v4only(),
      App("Outbound 11", "v6 still captured").to(Addr::Peer0, 8080).v6only(),
      App("Outbound 11", "v6 still captured, routed").to(Addr::Far, 8080).v6only(),
  }});

  s.push_back({"Dns", {"--capture-dns"}, {
      App("Outbound 7", "DNS over UDP").udp().to(Addr::Peer0, 53).to_dns(),
      App("Outbound 7", "DNS over TCP").to(Addr::Peer0, 53).to_dns(),
      App("Outbound 7", "DNS over UDP to a routed resolver").udp().to(Addr::Far, 53).to_dns(),
      P("Outbound 7", "root's DNS over UDP").pod().udp().to(Addr::Peer0, 53).to_dns(),
      Proxy("Outbound 5", "proxy's own DNS over UDP").udp().to(Addr::Peer0, 53).direct("resolver"),
      ProxyGid("Outbound 5", "proxy gid's own DNS over UDP").udp().to(Addr::Peer0, 53).direct("resolver"),
      Proxy("Outbound 5", "proxy's own DNS over TCP").to(Addr::Peer0, 53).direct("resolver"),
      App("Outbound UDP", "other UDP untouched").udp().to(Addr::Peer0, kUdpAppPort).direct("udp-server"),
      App("Outbound 6", "DNS/UDP to a loopback resolver").udp().to(Addr::Loop, 53).direct("local-resolver"),
      App("Outbound 6", "DNS/TCP to a loopback resolver").to(Addr::Loop, 53).direct("app"),
      App("Outbound 11", "TCP outbound as usual").to(Addr::Peer0, 8080).to_outbound(),
      // Conntrack zones: the same UDP 5-tuple, first from the proxy then from
      // the app (and the other way round), must each go their own way.
      Proxy("DNS zones", "proxy query from pod:40053").udp().from_addr(Addr::Pod0, 40053).to(Addr::Peer0, 53).direct("resolver"),
      App("DNS zones", "app query reusing the proxy's 5-tuple").udp().from_addr(Addr::Pod0, 40053).to(Addr::Peer0, 53).to_dns(),
      App("DNS zones", "app query from pod:40054").udp().from_addr(Addr::Pod0, 40054).to(Addr::Peer0, 53).to_dns(),
      Proxy("DNS zones", "proxy query reusing the app's 5-tuple").udp().from_addr(Addr::Pod0, 40054).to(Addr::Peer0, 53).direct("resolver"),
  }});

  s.push_back({"DnsServers",
               {"--capture-dns", "--dns-servers=10.248.3.1,fd00:248:3::1", "--exclude-outbound-ports=53"},
               {
      App("Outbound 7", "listed resolver, UDP").udp().to(Addr::Far, 53),
      App("Outbound 7", "listed resolver, TCP (DNS beats exclude-outbound-ports)").to(Addr::Far, 53),
      App("Outbound 7", "unlisted resolver, UDP").udp().to(Addr::Peer0, 53),
      App("Outbound 8", "unlisted resolver, TCP").to(Addr::Peer0, 53),
      App("Outbound 11", "TCP outbound as usual").to(Addr::Peer0, 8080),
  }});

  s.push_back({"Tproxy", {"--inbound-mode=tproxy", "--exclude-inbound-ports=7000-7010", "--exclude-outbound-ports=3306"}, {
      Peer("Inbound 4", "tproxy: original destination is the local address").to(Addr::Pod0, 8080).to_inbound().local_dst().seen_from(Addr::Peer0),
      Peer("Inbound 4", "tproxy on eth1").to(Addr::Pod1, 8080).to_inbound().local_dst().seen_from(Addr::Peer1),
      Peer("Inbound 4", "tproxy, another port").to(Addr::Pod0, 9011).to_inbound().local_dst(),
      Peer("Inbound 3", "tproxy, excluded port").to(Addr::Pod0, 7005).direct("app"),
      Proxy("Outbound 3", "proxy to own IP, excluded inbound port").to(Addr::Pod0, 7005).direct("app"),
      Proxy("Outbound 3", "proxy to own IP").to(Addr::Pod0, 8080).to_inbound(),
      Proxy("Outbound 2", "passthrough source").from_addr(Addr::Pass).to(Addr::Pod0, 8080).direct("app"),
      App("Outbound 4", "app to own IP").to(Addr::Pod0, 8080).direct("app"),
      Proxy("Outbound 5", "proxy upstream").to(Addr::Peer0, 8080).direct("server"),
      App("Outbound 11", "outbound as usual").to(Addr::Peer0, 8080).to_outbound(),
      App("Outbound 8", "app's uncaptured connection out (its answers come back in)").to(Addr::Peer0, 3306).direct("server"),
      Peer("Inbound UDP", "UDP untouched").udp().to(Addr::Pod0, kUdpAppPort).direct("udp-app"),
  }});

  s.push_back({"TproxyPortList", {"--inbound-mode=tproxy", "--inbound-ports=8081"}, {
      Peer("Inbound 4", "listed port").to(Addr::Pod0, 8081).seen_from(Addr::Peer0),
      Peer("Inbound 4", "unlisted port").to(Addr::Pod0, 8080),
      Proxy("Outbound 3", "proxy to own IP, listed port").to(Addr::Pod0, 8081),
      Proxy("Outbound 5", "proxy to own IP, unlisted port").to(Addr::Pod0, 8080),
  }});

  s.push_back({"ProxyIds", {"--proxy-uid=1337,1400", "--proxy-gid=2000"}, {
      P("Outbound 5", "second proxy uid upstream").pod().as(1400, kApp).to(Addr::Peer0, 8080),
      P("Outbound 5", "first proxy uid upstream").pod().as(kProxy, kApp).to(Addr::Peer0, 8080),
      P("Outbound 5", "explicit proxy gid upstream").pod().as(kApp, 2000).to(Addr::Peer0, 8080),
      P("Outbound 11", "gid 1337 is no proxy gid once --proxy-gid is given").pod().as(kApp, kProxy).to(Addr::Peer0, 8080),
      P("Outbound 3", "second proxy uid to own IP").pod().as(1400, kApp).to(Addr::Pod0, 8080),
      P("Outbound 3", "explicit proxy gid to own IP").pod().as(kApp, 2000).to(Addr::Pod0, 8080),
      P("Outbound 4", "gid 1337 to own IP is an app").pod().as(kApp, kProxy).to(Addr::Pod0, 8080),
  }});

  s.push_back({"ProxyUidOnly", {"--proxy-uid=1400"}, {
      P("Outbound 5", "proxy gid defaults to the proxy uids").pod().as(kApp, 1400).to(Addr::Peer0, 8080),
      P("Outbound 5", "proxy uid").pod().as(1400, kApp).to(Addr::Peer0, 8080),
      P("Outbound 11", "1337 is no proxy once --proxy-uid is given").pod().as(kProxy, kApp).to(Addr::Peer0, 8080),
      P("Outbound 3", "defaulted proxy gid to own IP").pod().as(kApp, 1400).to(Addr::Pod0, 8080),
  }});

  for (auto& sc : s) {
    sc.flags.insert(sc.flags.begin(), "--ipv6=on");
    for (auto& p : pings()) sc.probes.push_back(p);
  }
  return s;
}

const Scenario& scenario_named(const std::string& name) {
  static const std::vector<Scenario> all = scenarios();
  for (const auto& s : all)
    if (s.name == name) return s;
  throw std::runtime_error("no scenario " + name);
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> n;
  for (const auto& s : scenarios()) n.push_back(s.name);
  return n;
}

std::vector<Loader> loaders() {
  return {Loader::Reference, Loader::NftScript, Loader::IptablesRestore, Loader::MeshcapApply,
          Loader::MeshcapApplyIptables};
}

// Why this machine cannot run the suite, or "".
std::string cannot_run() {
  if (geteuid() != 0) return "needs root (network namespaces, nft, iptables)";
  if (!meshcap::test::can_unshare_net()) return "cannot create network namespaces (no CAP_SYS_ADMIN/NET_ADMIN?)";
  int st = 0;
  meshcap::test::sh("ip netns list >/dev/null 2>&1", &st);
  if (st != 0) return "`ip netns` does not work (iproute2 missing?)";
  for (const char* tool : {"nft", "iptables-legacy-restore", "ip6tables-legacy-restore"}) {
    meshcap::test::sh(std::string("command -v ") + tool + " >/dev/null", &st);
    if (st != 0) return std::string(tool) + " is not installed";
  }
  return "";
}

struct RunResult {
  std::string setup_error;  // topology or loading failed
  std::string details;      // the rules as loaded
  std::vector<Outcome> outcomes;
};

RunResult run_scenario(const Scenario& sc, Loader loader) {
  RunResult r;
  std::string plan_error;
  const Plan plan = scenario_plan(sc.flags, &plan_error);
  if (!plan_error.empty()) {
    r.setup_error = "settings: " + plan_error;
    return r;
  }
  Topology topo;
  if (auto e = topo.create(); !e.empty()) {
    r.setup_error = "topology: " + e;
    return r;
  }
  LoadResult lr = load_rules(loader, topo.pod(), sc.flags);
  r.details = lr.details;
  if (!lr.error.empty()) {
    r.setup_error = std::string(loader_name(loader)) + ": " + lr.error;
    return r;
  }
  for (Fam f : {Fam::V4, Fam::V6}) {
    for (const auto& p : sc.probes) {
      if ((p.v4_only && f != Fam::V4) || (p.v6_only && f != Fam::V6)) continue;
      std::string disagreement;
      Outcome o = run_probe(topo, with_expectation(p, f, plan, &disagreement), f);
      if (!disagreement.empty()) o.failure += (o.failure.empty() ? "" : "; ") + ("expectations disagree: " + disagreement);
      r.outcomes.push_back(o);
    }
  }
  return r;  // topo's destructor deletes the namespaces, on every path
}

std::string flags_text(const Scenario& sc) {
  return shell_flags(sc.flags);
}

// ------------------------------------------------------------- expectations

class Capture : public ::testing::TestWithParam<std::tuple<std::string, Loader>> {
 protected:
  void SetUp() override {
    if (auto why = cannot_run(); !why.empty()) MESHCAP_SKIP(why);
  }
};

TEST_P(Capture, LandsWhereSpecSays) {
  const auto& [name, loader] = GetParam();
  const Scenario& sc = scenario_named(name);
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = run_scenario(sc, loader);
  ASSERT_TRUE(r.setup_error.empty()) << "flags:" << flags_text(sc) << "\n" << r.setup_error << "\nrules:\n" << r.details;
  int failed = 0;
  const bool verbose = std::getenv("MCTEST_CAPTURE_VERBOSE") != nullptr;
  for (const auto& o : r.outcomes) {
    if (verbose) std::printf("  %s\n    -> %s\n", o.probe.c_str(), o.raw.c_str());
    if (o.failure.empty()) continue;
    ++failed;
    ADD_FAILURE() << loader_name(loader) << " flags:" << flags_text(sc) << "\n  " << o.probe << "\n  " << o.failure;
  }
  if (failed) ADD_FAILURE() << failed << " of " << r.outcomes.size() << " probes failed; rules as loaded:\n" << r.details;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("probes", static_cast<int>(r.outcomes.size()));
  RecordProperty("ms", static_cast<int>(ms));
}

INSTANTIATE_TEST_SUITE_P(Spec2, Capture, ::testing::Combine(::testing::ValuesIn(scenario_names()), ::testing::ValuesIn(loaders())),
                         [](const auto& p) {
                           return std::get<0>(p.param) + "_" + loader_name(std::get<1>(p.param));
                         });

// ------------------------------------------------- renderings agree

class RenderingsAgree : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = cannot_run(); !why.empty()) MESHCAP_SKIP(why);
  }
};

TEST_P(RenderingsAgree, SameOutcomes) {
  const Scenario& sc = scenario_named(GetParam());
  std::vector<Loader> ls = {Loader::NftScript, Loader::IptablesRestore, Loader::MeshcapApply,
                            Loader::MeshcapApplyIptables};
  std::vector<RunResult> runs;
  for (Loader l : ls) {
    runs.push_back(run_scenario(sc, l));
    ASSERT_TRUE(runs.back().setup_error.empty()) << "flags:" << flags_text(sc) << "\n" << runs.back().setup_error;
  }
  for (size_t k = 1; k < runs.size(); ++k) {
    ASSERT_EQ(runs[0].outcomes.size(), runs[k].outcomes.size());
    for (size_t i = 0; i < runs[0].outcomes.size(); ++i) {
      if (runs[0].outcomes[i].normal == runs[k].outcomes[i].normal) continue;
      ADD_FAILURE() << "renderings disagree; flags:" << flags_text(sc) << "\n  " << runs[0].outcomes[i].probe << "\n  "
                    << loader_name(ls[0]) << ": " << runs[0].outcomes[i].raw << "\n  " << loader_name(ls[k]) << ": "
                    << runs[k].outcomes[i].raw;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Spec2, RenderingsAgree, ::testing::ValuesIn(scenario_names()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace meshcap::traffic
