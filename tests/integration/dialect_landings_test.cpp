// The meshes' own command lines on meshcap land real connections where the
// meshes' own rules would. For each literal argument list Istio's or
// Linkerd's injector writes, one topology gets meshcap's rules (the binary
// run with those arguments inside the pod) and another gets the mesh's rules,
// written here by hand from how istio-iptables and linkerd proxy-init program
// them, loaded with iptables-legacy-restore; every probe must land the same
// way in both. The reference rules use the topology's ports (15001, 15006,
// 15053) and proxy user (1337) in the Linkerd cases too.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "integration/traffic/loaders.hpp"
#include "integration/traffic/probes.hpp"
#include "integration/traffic/topology.hpp"
#include "support/netns.hpp"

namespace meshcap::traffic {
namespace {

namespace fs = std::filesystem;
using meshcap::test::sh;

constexpr uint32_t kApp = 5000;

Probe App(std::string what) { return P("app", std::move(what)).pod().as(kApp, kApp); }
Probe Proxy(std::string what) { return P("proxy", std::move(what)).pod().as(kProxyId, kProxyId); }
Probe Peer(std::string what) { return P("peer", std::move(what)).peer(); }

std::vector<Probe> probes() {
  return {
      Peer("inbound app port").to(Addr::Pod0, 8080),
      Peer("inbound port 7005").to(Addr::Pod0, 7005),
      Peer("inbound port 9000").to(Addr::Pod0, 9000),
      Peer("inbound 15020 (Istio excludes it)").to(Addr::Pod0, 15020),
      Peer("inbound tunnel port 15008").to(Addr::Pod0, 15008),
      Peer("inbound on the second interface").to(Addr::Pod1, 8080),
      App("outbound to a far server").to(Addr::Far, 8080),
      App("outbound to the excluded far server").to(Addr::FarExcl, 8080),
      App("outbound via eth1").to(Addr::Other, 8080),
      App("outbound included port via eth1").to(Addr::Other, 7000),
      App("outbound excluded port").to(Addr::Far, 9000),
      App("outbound to a Linkerd-ignored port").to(Addr::Far, 7005),
      App("app to 127.0.0.1").to(Addr::Loop, 8080),
      App("app to 127.0.0.2").to(Addr::Loop2, 8080),
      App("app to its own pod IP").to(Addr::Pod0, 8080),
      Proxy("proxy to 127.0.0.2 (Istio sends it inbound)").to(Addr::Loop2, 8080),
      Proxy("proxy to 127.0.0.1").to(Addr::Loop, 8080),
      Proxy("proxy to its own pod IP").to(Addr::Pod0, 8080),
      Proxy("proxy to its own pod IP on a port -b does not list").to(Addr::Pod0, 9000),
      Proxy("proxy to its own pod IP on a -d port").to(Addr::Pod0, 15020),
      Proxy("proxy to its own pod IP on the tunnel port").to(Addr::Pod0, 15008),
      Proxy("proxy to its own second address").to(Addr::Pod1, 7005),
      Proxy("proxy upstream").to(Addr::Far, 8080),
      Proxy("proxy passthrough from 127.0.0.6").to(Addr::Pod0, 8080).from_addr(Addr::Pass),
      App("DNS over UDP to the listed resolver").udp().to(Addr::Peer0, 53),
      App("DNS over TCP to the listed resolver").to(Addr::Peer0, 53),
      App("DNS over UDP to another server").udp().to(Addr::Far, 53),
      Proxy("the proxy's own DNS").udp().to(Addr::Peer0, 53),
  };
}

// ---- Istio's rules (istio-iptables, IPv4)
//
// What istio-iptables programs for the flags of each case, in the order it
// programs them: its IptablesConfigurator (tools/istio-iptables/pkg/capture/
// run.go in istio/istio) as its own golden outputs show it (capture/testdata:
// the owner rules of empty.golden and inbound-ports-include.golden, DNS as in
// dns-uid-gid.golden, -c as in basic-exclude-nic.golden, -k as in
// kube-virt-interfaces.golden, and for `-m TPROXY -b '*'` the mangle table of
// inbound-ports-wildcard-tproxy.golden and tproxy.golden), rewritten here for
// the flags each case passes; uid and gid 1337, ports 15001/15006/15008/15053.

struct IstioRef {
  bool tproxy = false;                                            // -m TPROXY
  std::vector<std::string> inbound_ports = {"*"};                 // -b
  std::vector<std::string> local_excluded = {"15090", "15021", "15020"};  // -d
  std::vector<std::string> exclude_interfaces;                    // -c
  std::vector<std::string> virt_interfaces;                       // -k
  std::vector<std::string> outbound_ports_excluded;               // -o
  std::vector<std::string> dns_servers;                           // resolvers, with DNS capture
  std::vector<std::string> included_ports;                        // -q
  std::vector<std::string> excluded_cidrs;                        // -x
  std::vector<std::string> included_cidrs = {"*"};                // -i
};

std::string istio_rules(const IstioRef& r) {
  const bool dns = !r.dns_servers.empty();
  const bool all_inbound = r.inbound_ports == std::vector<std::string>{"*"};
  std::string s;
  if (r.tproxy) {
    s += "*mangle\n:ISTIO_DIVERT - [0:0]\n:ISTIO_TPROXY - [0:0]\n:ISTIO_INBOUND - [0:0]\n";
    for (const auto& c : r.exclude_interfaces)
      s += "-A PREROUTING -i " + c + " -j RETURN\n-A OUTPUT -o " + c + " -j RETURN\n";
    s += "-A ISTIO_DIVERT -j MARK --set-mark 1337\n-A ISTIO_DIVERT -j ACCEPT\n"
         "-A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15006\n"
         "-A PREROUTING -p tcp -j ISTIO_INBOUND\n";
    if (all_inbound) {
      for (const auto& p : r.local_excluded) s += "-A ISTIO_INBOUND -p tcp --dport " + p + " -j RETURN\n";
      s += "-A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT\n"
           "-A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY\n";
    } else {
      for (const auto& p : r.inbound_ports)
        s += "-A ISTIO_INBOUND -p tcp --dport " + p +
             " -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT\n"
             "-A ISTIO_INBOUND -p tcp --dport " + p + " -j ISTIO_TPROXY\n";
    }
    // The proxy's packets through lo (to other than 127.0.0.1) carry mark
    // 1338, and only those of lo's packets reach the TPROXY rule.
    s += "-A PREROUTING -p tcp -m mark --mark 1337 -j CONNMARK --save-mark\n"
         "-A OUTPUT -p tcp -o lo -m mark --mark 1337 -j RETURN\n"
         "-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --uid-owner 1337 -j MARK --set-mark 1338\n"
         "-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --gid-owner 1337 -j MARK --set-mark 1338\n"
         "-A OUTPUT -p tcp -m connmark --mark 1337 -j CONNMARK --restore-mark\n"
         "-I ISTIO_INBOUND 1 -p tcp -m mark --mark 1337 -j RETURN\n"
         "-I ISTIO_INBOUND 2 -p tcp -s 127.0.0.6/32 -i lo -j RETURN\n"
         "-I ISTIO_INBOUND 3 -p tcp -i lo -m mark ! --mark 1338 -j RETURN\n"
         "COMMIT\n";
  }

  s += "*nat\n:ISTIO_INBOUND - [0:0]\n:ISTIO_REDIRECT - [0:0]\n:ISTIO_IN_REDIRECT - [0:0]\n"
       ":ISTIO_OUTPUT - [0:0]\n";
  if (dns) s += ":ISTIO_OUTPUT_DNS - [0:0]\n";
  for (const auto& c : r.exclude_interfaces)
    s += "-A PREROUTING -i " + c + " -j RETURN\n-A OUTPUT -o " + c + " -j RETURN\n";
  for (const auto& k : r.virt_interfaces) s += "-I PREROUTING 1 -i " + k + " -j RETURN\n";
  // The tunnel port's exemption: in TPROXY mode nothing jumps to this chain.
  s += "-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN\n"
       "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001\n"
       "-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006\n";
  if (!r.tproxy && !r.inbound_ports.empty()) {
    s += "-A PREROUTING -p tcp -j ISTIO_INBOUND\n";
    if (all_inbound) {
      for (const auto& p : r.local_excluded) s += "-A ISTIO_INBOUND -p tcp --dport " + p + " -j RETURN\n";
      s += "-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT\n";
    } else {
      for (const auto& p : r.inbound_ports)
        s += "-A ISTIO_INBOUND -p tcp --dport " + p + " -j ISTIO_IN_REDIRECT\n";
    }
  }
  s += "-A OUTPUT -j ISTIO_OUTPUT\n";
  for (const auto& p : r.outbound_ports_excluded)
    s += "-A ISTIO_OUTPUT -p tcp --dport " + p + " -j RETURN\n-A ISTIO_OUTPUT -p udp --dport " + p + " -j RETURN\n";
  s += "-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN\n";
  // The proxy calling its own pod: inbound on every port but the tunnel port
  // (and 53 with DNS capture, in the uid rule only), whatever -b says.
  s += dns ? "-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp -m multiport ! --dports 53,15008 -m owner "
             "--uid-owner 1337 -j ISTIO_IN_REDIRECT\n"
           : "-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j "
             "ISTIO_IN_REDIRECT\n";
  for (const char* owner : {"--uid-owner", "--gid-owner"}) {
    if (std::string(owner) == "--gid-owner")
      s += "-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j "
           "ISTIO_IN_REDIRECT\n";
    s += std::string("-A ISTIO_OUTPUT -o lo ") + (dns ? "-p tcp ! --dport 53 " : "") + "-m owner ! " + owner +
         " 1337 -j RETURN\n";
    s += std::string("-A ISTIO_OUTPUT -m owner ") + owner + " 1337 -j RETURN\n";
  }
  if (dns) {
    s += "-A ISTIO_OUTPUT -j ISTIO_OUTPUT_DNS\n";
    for (const auto& d : r.dns_servers)
      s += "-A ISTIO_OUTPUT_DNS -p tcp --dport 53 -d " + d + "/32 -j REDIRECT --to-ports 15053\n";
    for (const auto& d : r.dns_servers)
      s += "-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d " + d + "/32 -j REDIRECT --to-ports 15053\n";
  }
  s += "-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN\n";
  for (const auto& c : r.excluded_cidrs) s += "-A ISTIO_OUTPUT -d " + c + " -j RETURN\n";
  for (const auto& p : r.included_ports) s += "-A ISTIO_OUTPUT -p tcp --dport " + p + " -j ISTIO_REDIRECT\n";
  if (r.included_cidrs == std::vector<std::string>{"*"}) {
    s += "-A ISTIO_OUTPUT -j ISTIO_REDIRECT\n";
    for (const auto& k : r.virt_interfaces) s += "-I PREROUTING 1 -i " + k + " -j ISTIO_REDIRECT\n";
  } else {
    for (const auto& c : r.included_cidrs) {
      for (const auto& k : r.virt_interfaces)
        s += "-I PREROUTING 1 -i " + k + " -d " + c + " -j ISTIO_REDIRECT\n";
      s += "-A ISTIO_OUTPUT -d " + c + " -j ISTIO_REDIRECT\n";
    }
  }
  s += "COMMIT\n";

  if (dns) {  // DNS flows in separate conntrack zones
    s += "*raw\n:ISTIO_OUTPUT_DNS - [0:0]\n:ISTIO_INBOUND - [0:0]\n-A OUTPUT -j ISTIO_OUTPUT_DNS\n";
    for (const char* owner : {"--uid-owner", "--gid-owner"})
      s += std::string("-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner ") + owner + " 1337 -j CT --zone 1\n" +
           "-A ISTIO_OUTPUT_DNS -p udp --sport 15053 -m owner " + owner + " 1337 -j CT --zone 2\n";
    s += "-A PREROUTING -j ISTIO_INBOUND\n";
    for (const auto& d : r.dns_servers)
      s += "-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d " + d + "/32 -j CT --zone 2\n"
           "-A ISTIO_INBOUND -p udp --sport 53 -s " + d + "/32 -j CT --zone 1\n";
    s += "COMMIT\n";
  }
  return s;
}

// ---- Linkerd's rules (proxy-init, IPv4)

struct LinkerdRef {
  std::vector<std::string> subnets_ignored;
  std::string inbound_ignored = "4190,4191,4567,4568";
  std::string redirected;  // empty: every port
  std::string outbound_ignored = "4567,4568";
};

std::string linkerd_rules(const LinkerdRef& r) {
  std::string s = "*nat\n:PROXY_INIT_REDIRECT - [0:0]\n:PROXY_INIT_OUTPUT - [0:0]\n";
  s += "-A PREROUTING -j PROXY_INIT_REDIRECT\n";
  for (const auto& n : r.subnets_ignored) s += "-A PROXY_INIT_REDIRECT -s " + n + " -j RETURN\n";
  s += "-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports " + r.inbound_ignored + " -j RETURN\n";
  if (r.redirected.empty())
    s += "-A PROXY_INIT_REDIRECT -p tcp -j REDIRECT --to-ports 15006\n";
  else
    s += "-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports " + r.redirected + " -j REDIRECT --to-ports 15006\n";
  s += "-A OUTPUT -j PROXY_INIT_OUTPUT\n";
  s += "-A PROXY_INIT_OUTPUT -m owner --uid-owner 1337 -j RETURN\n";
  s += "-A PROXY_INIT_OUTPUT -o lo -j RETURN\n";
  s += "-A PROXY_INIT_OUTPUT -p tcp -m multiport --dports " + r.outbound_ignored + " -j RETURN\n";
  s += "-A PROXY_INIT_OUTPUT -p tcp -j REDIRECT --to-ports 15001\n";
  return s + "COMMIT\n";
}

struct Case {
  std::string name;
  std::vector<std::string> args;  // as the pod's container gets them, after the program
  std::map<std::string, std::string> env;
  std::string reference;          // iptables-legacy-restore input
  std::string resolv_conf;        // the pod's /etc/resolv.conf, when it matters
  std::vector<std::string> ref_ip_cmds = {};  // routing the mesh's rules need (tproxy)
  // The proxy's own calls through lo may reach the inbound port by another
  // path: Istio's TPROXY rules divert the ones its nat rules skip (the tunnel
  // port) with TPROXY, meshcap redirects all of them (docs/capture.md,
  // "Inbound modes"). The listener, the port and the original destination
  // must still agree; only the accepted socket's local address may differ.
  bool lo_delivery_may_differ = false;
  // Probes (by their description) that must land on this listener under both
  // rule sets: the comparison alone would also pass if both missed.
  std::map<std::string, std::vector<std::string>> must_land = {};
};

const std::vector<std::string> kIstio = {"istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337",
                                         "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d",
                                         "15090,15021,15020", "--log_output_level=default:info"};
const std::vector<std::string> kLinkerd = {"--incoming-proxy-port", "15006", "--outgoing-proxy-port", "15001",
                                           "--proxy-uid", "1337", "--inbound-ports-to-ignore", "4190,4191,4567,4568",
                                           "--outbound-ports-to-ignore", "4567,4568"};

std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}
// Istio's list with one flag's value replaced.
std::vector<std::string> istio_with(const std::string& flag, const std::string& value) {
  auto args = kIstio;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) args[i + 1] = value;
  return args;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"IstioDefault", kIstio, {}, istio_rules({}), ""});
  {
    IstioRef r;
    r.dns_servers = {"10.248.1.1"};
    out.push_back({"IstioDnsCapture", kIstio, {{"ISTIO_META_DNS_CAPTURE", "true"}}, istio_rules(r),
                   "nameserver 10.248.1.1\n"});
  }
  {
    IstioRef r;
    r.included_cidrs = {"10.248.3.0/24"};
    r.excluded_cidrs = {"10.248.3.200/32"};
    r.included_ports = {"7000"};
    r.outbound_ports_excluded = {"9000"};
    auto args = istio_with("-i", "10.248.3.0/24");
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "-x") args[i + 1] = "10.248.3.200/32";
    out.push_back({"IstioRangesAndPorts", with(args, {"-q", "7000", "-o", "9000"}), {}, istio_rules(r), ""});
  }
  {
    // -b lists ports: -d no longer counts, and the proxy's calls to its own
    // pod still go inbound on every other port (but 15008).
    IstioRef r;
    r.inbound_ports = {"8080", "7005"};
    Case c{"IstioInboundPortsListed", istio_with("-b", "8080,7005"), {}, istio_rules(r), ""};
    c.must_land = {{"proxy to its own pod IP on a port -b does not list", {"who=inbound", "port=15006", ":9000"}},
                   {"proxy to its own pod IP on a -d port", {"who=inbound", "port=15006", ":15020"}},
                   {"inbound port 9000", {"who=app", "port=9000"}}};
    out.push_back(c);
  }
  {
    IstioRef r;
    r.virt_interfaces = {"eth1"};
    out.push_back({"IstioVirtInterfaces", with(kIstio, {"-k", "eth1"}), {}, istio_rules(r), ""});
  }
  {
    IstioRef r;
    r.exclude_interfaces = {"eth1"};
    out.push_back({"IstioExcludedInterfaces", with(kIstio, {"-c", "eth1"}), {}, istio_rules(r), ""});
  }
  {
    IstioRef r;
    r.tproxy = true;
    Case c{"IstioTproxy", istio_with("-m", "TPROXY"), {}, istio_rules(r), "",
           // tools/common/tproxy: the mark's rule and table 133's local default route.
           {"ip rule add fwmark 1337 lookup 133", "ip route add local default dev lo table 133"}};
    c.lo_delivery_may_differ = true;
    out.push_back(c);
  }
  out.push_back({"LinkerdDefault", kLinkerd, {}, linkerd_rules({}), ""});
  {
    LinkerdRef r;
    r.redirected = "8080,7000:7005";
    out.push_back({"LinkerdPortsToRedirect", with(kLinkerd, {"--ports-to-redirect", "8080,7000-7005"}), {},
                   linkerd_rules(r), ""});
  }
  {
    LinkerdRef r;
    r.subnets_ignored = {"10.248.1.0/24"};
    out.push_back({"LinkerdSubnetsToIgnore", with(kLinkerd, {"--subnets-to-ignore", "10.248.1.0/24"}), {},
                   linkerd_rules(r), ""});
  }
  out.push_back({"LinkerdIpv6Off", with(kLinkerd, {"--ipv6=false"}), {}, linkerd_rules({}), ""});
  out.push_back({"LinkerdNftBinary",
                 with(kLinkerd, {"--firewall-bin-path", "iptables-nft", "--firewall-save-bin-path",
                                 "iptables-nft-save"}),
                 {}, linkerd_rules({}), ""});
  return out;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class DialectLandings : public ::testing::TestWithParam<Case> {};

std::vector<Outcome> run_all(const Topology& topo) {
  std::vector<Outcome> out;
  for (const auto& p : probes()) out.push_back(run_probe(topo, p, Fam::V4));
  return out;
}

TEST_P(DialectLandings, SameAsTheMeshsOwnRules) {
  const Case& c = GetParam();
  ASSERT_TRUE(meshcap::test::can_unshare_net()) << "needs root for network namespaces";

  // The mesh's rules.
  Topology ref;
  ASSERT_EQ(ref.create(), "");
  std::string file = write_temp(c.reference);
  int st = 0;
  std::string out = run_in(ref.pod(), "iptables-legacy-restore --noflush < " + file, &st);
  std::remove(file.c_str());
  ASSERT_EQ(st, 0) << out << "\n" << c.reference;
  for (const auto& cmd : c.ref_ip_cmds) {
    out = run_in(ref.pod(), cmd, &st);
    ASSERT_EQ(st, 0) << cmd << ": " << out;
  }
  auto want = run_all(ref);
  ref.destroy();

  // meshcap with the mesh's arguments.
  Topology topo;
  ASSERT_EQ(topo.create(), "");
  fs::path etc = fs::path("/etc/netns") / topo.pod();
  if (!c.resolv_conf.empty()) {
    fs::create_directories(etc);
    std::ofstream(etc / "resolv.conf") << c.resolv_conf;
  }
  std::string cmd = "env";
  for (const auto& [k, v] : c.env) cmd += " " + k + "=" + shell_quote(v);
  cmd += " " + meshcap_binary();
  for (const auto& a : c.args) cmd += " " + shell_quote(a);
  out = run_in(topo.pod(), cmd, &st);
  if (!c.resolv_conf.empty()) fs::remove_all(etc);
  ASSERT_EQ(st, 0) << cmd << "\n" << out;
  auto got = run_all(topo);

  size_t captured = 0;
  auto all = probes();
  for (size_t i = 0; i < want.size(); ++i) {
    Addr d = all[i].dst;
    bool local = d == Addr::Loop || d == Addr::Loop2 || d == Addr::Pod0 || d == Addr::Pod1;
    auto landing = [&](const std::string& normal) {
      if (!(c.lo_delivery_may_differ && all[i].from == Side::Pod && local)) return normal;
      auto at = normal.find("local=");
      return at == std::string::npos ? normal : normal.substr(0, at) + normal.substr(normal.find(' ', at) + 1);
    };
    EXPECT_EQ(landing(got[i].normal), landing(want[i].normal))
        << want[i].probe << "\nmesh's rules: " << want[i].raw << "\nmeshcap: " << got[i].raw;
    for (const auto& [what, tokens] : c.must_land) {
      if (want[i].probe.find(": " + what + " (") == std::string::npos) continue;
      for (const auto& t : tokens) {
        EXPECT_NE(want[i].normal.find(t), std::string::npos) << want[i].probe << " (mesh's rules): " << want[i].raw;
        EXPECT_NE(got[i].normal.find(t), std::string::npos) << want[i].probe << " (meshcap): " << got[i].raw;
      }
    }
    if (want[i].normal.find("who=outbound") != std::string::npos ||
        want[i].normal.find("who=inbound") != std::string::npos)
      ++captured;
  }
  EXPECT_GE(captured, 3u) << "the reference rules captured almost nothing: the comparison proves little";
}

std::string case_name(const ::testing::TestParamInfo<Case>& param) { return param.param.name; }

INSTANTIATE_TEST_SUITE_P(Meshes, DialectLandings, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace meshcap::traffic
