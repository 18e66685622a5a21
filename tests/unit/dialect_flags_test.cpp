// The Istio and Linkerd command lines: every form a flag can take, flag over
// variable, the meshes' defaults, and bad values named by the mesh's flag.
#include <gtest/gtest.h>

#include "dialects/dialect.hpp"
#include "meshcap/interpret.hpp"
#include "meshcap/lower_iptables.hpp"
#include "meshcap/planner.hpp"

namespace meshcap::dialects {
namespace {

const std::vector<std::string> kIstioDefault = {"-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
                                                "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020",
                                                "--log_output_level=default:info"};

Config istio(std::vector<std::string> args, Env env = {}, std::string resolv = "") {
  auto run = parse_istio(args, env, resolv);
  EXPECT_TRUE(run) << (run ? "" : run.error().message);
  if (!run) return Config{};
  auto c = parse_config(run->raw);
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return c ? *c : Config{};
}

// The one-line error a bad command line gets, or "" when it is accepted.
std::string istio_error(std::vector<std::string> args, Env env = {}) {
  auto run = parse_istio(args, env, "nameserver 10.0.0.10\n");
  if (!run) return run.error().kind == ErrorKind::BadInput ? run.error().message : "not BadInput";
  auto c = parse_config(run->raw);
  if (!c) return c.error().kind == ErrorKind::BadInput ? c.error().message : "not BadInput";
  return "";
}
std::string linkerd_error(std::vector<std::string> args) {
  std::vector<std::string> all = {"--incoming-proxy-port", "4143", "--outgoing-proxy-port", "4140"};
  all.insert(all.end(), args.begin(), args.end());
  auto run = parse_linkerd(all);
  if (!run) return run.error().kind == ErrorKind::BadInput ? run.error().message : "not BadInput";
  auto c = parse_config(run->raw);
  if (!c) return c.error().kind == ErrorKind::BadInput ? c.error().message : "not BadInput";
  return "";
}

TEST(IstioDialect, DefaultInjection) {
  Config c = istio(kIstioDefault);
  EXPECT_EQ(c.outbound_port, 15001);
  EXPECT_EQ(c.inbound_port, 15006);
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{1337});
  EXPECT_EQ(c.proxy_gids, std::vector<uint32_t>{1337});
  EXPECT_TRUE(c.inbound_ports.all);
  EXPECT_TRUE(c.outbound_cidrs.all);
  EXPECT_EQ(c.exclude_inbound_ports.size(), 3u);  // 15008, 15020-15021 (merged), 15090
  EXPECT_EQ(c.exclude_inbound_ports[0], (PortRange{15008, 15008}));
  EXPECT_EQ(c.inbound_mode, InboundMode::Redirect);
  EXPECT_FALSE(c.capture_dns);
  EXPECT_EQ(c.ipv6, Ipv6Mode::Off);
  ASSERT_EQ(c.loopback_cidrs.size(), 2u);
  EXPECT_EQ(c.loopback_cidrs[0].str(), "127.0.0.1");
}

TEST(IstioDialect, EmptyInboundAndServiceCidrCaptureNothing) {
  Config c = istio({"-p", "15001"});
  EXPECT_TRUE(c.inbound_ports.empty());
  EXPECT_TRUE(c.outbound_cidrs.empty());
}

TEST(IstioDialect, LocalExcludePortsOnlyWithEveryInboundPort) {
  Config c = istio({"-b", "8080,9090", "-d", "15020"});
  ASSERT_EQ(c.exclude_inbound_ports.size(), 1u);
  EXPECT_EQ(c.exclude_inbound_ports[0], (PortRange{15008, 15008}));
  EXPECT_EQ(istio({"-b", "*", "-e", "16008"}).exclude_inbound_ports[0], (PortRange{16008, 16008}));
}

TEST(IstioDialect, EveryFormOfAFlag) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"-p", "16001"}, {"-p16001"}, {"-p=16001"}, {"--envoy-port", "16001"},
        {"--envoy-port=16001"}})
    EXPECT_EQ(istio(args).outbound_port, 16001) << args[0];
}

TEST(IstioDialect, FlagBeatsVariable) {
  EXPECT_EQ(istio({}, {{"INBOUND_CAPTURE_PORT", "16006"}}).inbound_port, 16006);
  EXPECT_EQ(istio({"-z", "17006"}, {{"INBOUND_CAPTURE_PORT", "16006"}}).inbound_port, 17006);
  EXPECT_EQ(istio({"--istio-inbound-interception-mode=TPROXY"}).inbound_mode, InboundMode::Tproxy);
  EXPECT_EQ(istio({}, {{"ISTIO_INBOUND_INTERCEPTION_MODE", "TPROXY"}}).inbound_mode, InboundMode::Tproxy);
  EXPECT_EQ(istio({"-m", "REDIRECT"}, {{"ISTIO_INBOUND_INTERCEPTION_MODE", "TPROXY"}}).inbound_mode,
            InboundMode::Redirect);
  EXPECT_TRUE(istio({}, {{"INVALID_DROP", "true"}}).drop_invalid);
  EXPECT_FALSE(istio({"--drop-invalid=false"}, {{"DROP_INVALID", "true"}}).drop_invalid);
  EXPECT_EQ(istio({"--dual-stack"}).ipv6, Ipv6Mode::On);
}

TEST(IstioDialect, DnsCaptureTakesTheResolversUnlessAll) {
  std::string resolv = "search x.svc\nnameserver 10.96.0.10\nnameserver fd00::a\noptions ndots:5\n";
  Config c = istio({}, {{"ISTIO_META_DNS_CAPTURE", "true"}}, resolv);
  EXPECT_TRUE(c.capture_dns);
  ASSERT_EQ(c.dns_servers.size(), 2u);
  EXPECT_EQ(c.dns_servers[0].str(), "10.96.0.10");
  Config all = istio({"--redirect-dns", "--capture-all-dns"}, {}, resolv);
  EXPECT_TRUE(all.capture_dns);
  EXPECT_TRUE(all.dns_servers.empty());
  EXPECT_FALSE(istio({"--redirect-dns"}, {}, "").capture_dns);  // no resolver to capture
}

// Read as `>>` reads words: tabs and runs of spaces separate them, a \r before
// the newline is space, a last line needs no newline, and a zone-scoped
// link-local resolver is left out.
TEST(IstioDialect, ResolvConfLinesAreSplitOnAnyWhitespace) {
  std::string resolv =
      "nameserver\t10.96.0.10\r\n"
      "  nameserver   10.96.0.20  # second\n"
      "\n"
      "nameserver fe80::1%eth0\n"
      "nameserver\n"
      "#nameserver 10.96.0.12\n"
      "nameserver \t fd00::a";
  Config c = istio({}, {{"ISTIO_META_DNS_CAPTURE", "true"}}, resolv);
  ASSERT_EQ(c.dns_servers.size(), 3u);
  EXPECT_EQ(c.dns_servers[0].str(), "10.96.0.10");
  EXPECT_EQ(c.dns_servers[1].str(), "10.96.0.20");
  EXPECT_EQ(c.dns_servers[2].str(), "fd00::a");
}

// The comma list as std::getline cuts it: a trailing comma adds nothing, an
// empty item between two commas is a bad level, the last default: wins.
TEST(IstioDialect, LogOutputLevelList) {
  EXPECT_EQ(istio({"--log_output_level=ads:debug,default:warn,"}).log_level, "warn");
  EXPECT_EQ(istio({"--log_output_level=default:debug,default:none"}).log_level, "off");
  EXPECT_EQ(istio({"--log_output_level=error"}).log_level, "error");
  EXPECT_EQ(istio({"--log_output_level=ads:debug"}).log_level, "info");
  EXPECT_NE(istio_error({"--log_output_level=default:info,,ads:debug"}), "");
  EXPECT_NE(istio_error({"--log_output_level=,default:info"}), "");
}

TEST(IstioDialect, ValidationSettings) {
  auto run = parse_istio({"--run-validation", "--skip-rule-apply", "-u", "1400", "--probe-timeout=1m30s",
                          "--iptables-probe-port", "16002"},
                         {}, "");
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->action, Action::Nothing);
  ASSERT_TRUE(run->validation);
  EXPECT_EQ(run->validation->uid, 1400u);
  EXPECT_EQ(run->validation->probe_port, 16002);
  EXPECT_EQ(run->validation->timeout.count(), 90000);
  EXPECT_EQ(parse_istio({"--cleanup-only"}, {}, "")->action, Action::Cleanup);
}

TEST(IstioDialect, NoOpsAreAcceptedAndSaid) {
  auto run = parse_istio({"--reconcile", "--force-apply", "--native-nftables", "--force-iptables-binary",
                          "--cni-mode", "--network-namespace", "/var/run/netns/x"},
                         {}, "");
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->notices.size(), 6u);
}

// The proxy dialing 127.0.0.6 (Istio's validation) is sent inbound only
// under Istio's narrow loopback exemption.
TEST(IstioDialect, ProxyThroughLoIsCapturedInbound) {
  Packet p;
  p.dst = Cidr::host(Family::V4, "127.0.0.6");
  p.src = Cidr::host(Family::V4, "127.0.0.1");
  p.dport = 15002;
  p.iface = "lo";
  p.uid = 1337;
  p.gid = 1337;
  Config c = istio(kIstioDefault);
  Verdict v = classify(make_plan(c), p);
  EXPECT_TRUE(v.captured);
  EXPECT_EQ(v.port, 15006);
  EXPECT_FALSE(classify(make_plan(Config{}), p).captured);
}

// Istio's nat OUTPUT sends the proxy's calls through lo to the inbound port
// on every port but the tunnel port, the -o ports, and 53 when DNS is
// captured, whatever -b says (istio-iptables' capture/run.go, the
// ISTIO_IN_REDIRECT owner rules).
TEST(IstioDialect, TheProxysOwnCallsGoInboundOnEveryPortButTheTunnel) {
  auto ranges = [](const Config& c) { return c.self_ports ? c.self_ports->items : std::vector<PortRange>{}; };
  EXPECT_EQ(ranges(istio(kIstioDefault)), (std::vector<PortRange>{{1, 15007}, {15009, 65535}}));
  EXPECT_EQ(ranges(istio({"-b", "8080", "-e", "16008"})), (std::vector<PortRange>{{1, 16007}, {16009, 65535}}));
  EXPECT_EQ(ranges(istio(kIstioDefault, {{"ISTIO_META_DNS_CAPTURE", "true"}}, "nameserver 10.0.0.10\n")),
            (std::vector<PortRange>{{1, 52}, {54, 15007}, {15009, 65535}}));
  // The -o ports are returned before the proxy's own calls are looked at.
  EXPECT_EQ(ranges(istio({"-o", "9000,9005-9010", "-b", "*"})),
            (std::vector<PortRange>{{1, 8999}, {9001, 9004}, {9011, 15007}, {15009, 65535}}));

  Packet p;
  p.dst = Cidr::host(Family::V4, "10.248.1.2");
  p.src = p.dst;
  p.iface = "lo";
  p.uid = 1337;
  p.gid = 1337;
  Config listed = istio({"-b", "8080", "-i", "*"});
  p.dport = 9000;  // not in -b
  Verdict v = classify(make_plan(listed), p);
  EXPECT_TRUE(v.captured);
  EXPECT_EQ(v.port, 15006);
  EXPECT_EQ(v.line, "outbound 3");
  p.dport = 15008;
  EXPECT_FALSE(classify(make_plan(listed), p).captured);
}

// Istio's TPROXY mode exempts the tunnel port only in its nat chain, which
// inbound TPROXY traffic never reaches; the proxy's own calls on a port its
// nat rules skip still land inbound when the mangle chain captures the port.
TEST(IstioDialect, TproxyCapturesTheTunnelPort) {
  auto tproxy = istio({"-m", "TPROXY", "-b", "*", "-d", "15090,15021,15020"});
  EXPECT_EQ(tproxy.inbound_mode, InboundMode::Tproxy);
  EXPECT_EQ(tproxy.exclude_inbound_ports, (std::vector<PortRange>{{15020, 15021}, {15090, 15090}}));
  ASSERT_TRUE(tproxy.self_ports);
  EXPECT_TRUE(tproxy.self_ports->all);
  auto excluded = istio({"-m", "TPROXY", "-b", "*", "-d", "15008"});
  ASSERT_TRUE(excluded.self_ports);
  EXPECT_EQ(excluded.self_ports->items, (std::vector<PortRange>{{1, 15007}, {15009, 65535}}));
  auto listed = istio({"-m", "TPROXY", "-b", "8080,15008"});
  ASSERT_TRUE(listed.self_ports);
  EXPECT_TRUE(listed.self_ports->all);
  EXPECT_TRUE(listed.exclude_inbound_ports.empty());
}

// Istio enables IPv6, and probes over IPv6, by the pod's first address other
// than loopback and link-local (tools/common/config/config.go, getLocalIP).
TEST(IstioDialect, Ipv6FollowsThePodsAddresses) {
  auto with = [](std::vector<std::string> args, std::vector<Family> addrs) {
    args.push_back("--run-validation");
    auto run = parse_istio(args, {}, "", addrs);
    EXPECT_TRUE(run) << (run ? "" : run.error().message);
    return std::make_pair(run->raw.at("ipv6").value, run->validation->ipv6);
  };
  using F = Family;
  EXPECT_EQ(with({}, {F::V6}), std::make_pair(std::string("on"), true));
  EXPECT_EQ(with({}, {F::V4, F::V6}), std::make_pair(std::string("off"), false));
  EXPECT_EQ(with({"--dual-stack"}, {F::V4, F::V6}), std::make_pair(std::string("on"), false));
  EXPECT_EQ(with({"--dual-stack"}, {F::V4}), std::make_pair(std::string("off"), false));
  EXPECT_EQ(with({"--dual-stack"}, {}), std::make_pair(std::string("on"), false));
  EXPECT_EQ(with({}, {}), std::make_pair(std::string("off"), false));
}

TEST(IstioDialect, BadValuesNameIstiosFlag) {
  struct Case {
    std::vector<std::string> args;
    Env env;
    std::string named;
  };
  std::vector<Case> cases = {
      {{"-p", "abc"}, {}, "-p \"abc\""},
      {{"--envoy-port=70000"}, {}, "--envoy-port \"70000\""},
      {{"-z", "0"}, {}, "-z \"0\""},
      {{}, {{"INBOUND_CAPTURE_PORT", "x"}}, "INBOUND_CAPTURE_PORT"},
      {{"-e", "nope"}, {}, "-e \"nope\""},
      {{"-u", "root"}, {}, "-u \"root\""},
      {{"-g", "-5"}, {}, "-g \"-5\""},
      {{"-t", "mark"}, {}, "-t \"mark\""},
      {{"-r", "x"}, {}, "-r \"x\""},
      {{"-b", "99999"}, {}, "-b \"99999\""},
      {{"-d", "1-"}, {}, "-d \"1-\""},
      {{"-c", "this-name-is-far-too-long"}, {}, "-c \""},
      {{"-i", "10.0.0.0/33"}, {}, "-i \"10.0.0.0/33\""},
      {{"-x", "*"}, {}, "-x \"*\""},
      {{"-q", "http"}, {}, "-q \"http\""},
      {{"-o", "0"}, {}, "-o \"0\""},
      {{"-k", "bad/name"}, {}, "-k \""},
      {{"--dry-run=maybe"}, {}, "--dry-run \"maybe\""},
      {{}, {{"ISTIO_META_DNS_CAPTURE", "yes"}}, "ISTIO_META_DNS_CAPTURE \"yes\""},
      {{"--run-validation", "--probe-timeout", "soon"}, {}, "--probe-timeout \"soon\""},
      {{"--run-validation", "--iptables-probe-port", "0"}, {}, "--iptables-probe-port \"0\""},
      {{"--log_output_level", "default:loud"}, {}, "--log_output_level"},
      {{"-p"}, {}, "-p needs a value"},
      {{"--drop-invalid", "yes"}, {}, "unexpected argument 'yes'"},
      {{"--capture-all-dns=maybe"}, {}, "--capture-all-dns"},
      {{"--dual-stack=2"}, {}, "--dual-stack"},
      {{"--skip-rule-apply=nope"}, {}, "--skip-rule-apply"},
      {{"--cleanup-only=sometimes"}, {}, "--cleanup-only"},
      {{"--log_as_json=x"}, {}, "--log_as_json"},
      {{"--run-validation=often"}, {}, "--run-validation"},
      {{}, {{"PROXY_UID", "istio-proxy"}}, "PROXY_UID \"istio-proxy\""},
      {{}, {{"PROXY_GID", "x"}}, "PROXY_GID \"x\""},
      {{}, {{"ISTIO_INBOUND_PORTS", "80,"}}, "ISTIO_INBOUND_PORTS"},
      {{}, {{"ISTIO_SERVICE_CIDR", "10.0.0.0/40"}}, "ISTIO_SERVICE_CIDR"},
      {{}, {{"ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR", "127.0.0.1/64"}}, "ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR"},
      {{"--run-validation"}, {{"PROBE_TIMEOUT", "5 seconds"}}, "PROBE_TIMEOUT"},
      {{"--run-validation"}, {{"IPTABLES_PROBE_PORT", "65536"}}, "IPTABLES_PROBE_PORT"},
      {{"-e", "0"}, {}, "-e \"0\""},
      {{}, {{"ISTIO_OUTBOUND_OWNER_GROUPS", "1000"}}, "ISTIO_OUTBOUND_OWNER_GROUPS \"1000\""},
      {{}, {{"ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE", "2000"}}, "ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE \"2000\""},
  };
  EXPECT_GE(cases.size(), 35u);
  for (const auto& c : cases) {
    std::string e = istio_error(c.args, c.env);
    EXPECT_NE(e.find(c.named), std::string::npos) << "args " << (c.args.empty() ? "" : c.args[0]) << ": " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
}

TEST(IstioDialect, OwnerGroupsAtTheirDefaultsAreAccepted) {
  EXPECT_EQ(istio_error({}, {{"ISTIO_OUTBOUND_OWNER_GROUPS", "*"}, {"ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE", ""}}), "");
  EXPECT_EQ(istio_error({}, {{"ISTIO_OUTBOUND_OWNER_GROUPS", ""}}), "");
}

TEST(IstioDialect, UnknownFlagsAreNamed) {
  EXPECT_NE(istio_error({"--envoy-prot", "1"}).find("unknown flag --envoy-prot"), std::string::npos);
  EXPECT_NE(istio_error({"-Z", "1"}).find("unknown shorthand flag -Z"), std::string::npos);
  EXPECT_NE(istio_error({"stray"}).find("unexpected argument 'stray'"), std::string::npos);
}

TEST(LinkerdDialect, DefaultInjection) {
  auto run = parse_linkerd({"--incoming-proxy-port", "4143", "--outgoing-proxy-port", "4140", "--proxy-uid", "2102",
                            "--inbound-ports-to-ignore", "4190,4191,4567,4568", "--outbound-ports-to-ignore",
                            "4567,4568"});
  ASSERT_TRUE(run) << run.error().message;
  auto c = parse_config(run->raw);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->inbound_port, 4143);
  EXPECT_EQ(c->outbound_port, 4140);
  EXPECT_EQ(c->proxy_uids, std::vector<uint32_t>{2102});
  EXPECT_TRUE(c->proxy_gids.empty());
  EXPECT_TRUE(c->inbound_ports.all);
  EXPECT_TRUE(c->lo_passthrough);
  EXPECT_FALSE(c->capture_dns);
  EXPECT_EQ(c->exclude_inbound_ports.size(), 2u);  // 4190-4191, 4567-4568 (merged)
  // The proxy calling its own pod is not sent inbound.
  Packet p;
  p.dst = Cidr::host(Family::V4, "10.1.1.1");
  p.dport = 8080;
  p.iface = "lo";
  p.uid = 2102;
  EXPECT_FALSE(classify(make_plan(*c), p).captured);
}

TEST(LinkerdDialect, SubnetsToIgnoreMatchTheSource) {
  // Two networks that do not merge into one (adjacent ones would).
  auto run = parse_linkerd({"-p", "4143", "-o", "4140", "--subnets-to-ignore", "10.9.0.0/16",
                            "--subnets-to-ignore=10.20.0.0/16", "-r", "8080,9000-9010"});
  ASSERT_TRUE(run) << run.error().message;
  auto c = parse_config(run->raw);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->exclude_inbound_sources.size(), 2u);
  EXPECT_EQ(c->inbound_ports.items.size(), 2u);
  Packet p;
  p.direction = Direction::Inbound;
  p.dst = Cidr::host(Family::V4, "10.1.1.1");
  p.src = Cidr::host(Family::V4, "10.9.3.3");
  p.dport = 8080;
  p.iface = "eth0";
  EXPECT_FALSE(classify(make_plan(*c), p).captured);
  p.src = Cidr::host(Family::V4, "10.7.3.3");
  EXPECT_TRUE(classify(make_plan(*c), p).captured);
}

TEST(LinkerdDialect, BadValuesAndUnknownFlags) {
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  std::vector<Case> cases = {
      {{"--proxy-uid", "x"}, "--proxy-uid \"x\""},
      {{"-g", "y"}, "-g \"y\""},
      {{"--ports-to-redirect", "8080,http"}, "--ports-to-redirect \"8080,http\""},
      {{"--inbound-ports-to-ignore", "5-1"}, "--inbound-ports-to-ignore \"5-1\""},
      {{"--outbound-ports-to-ignore", "0"}, "--outbound-ports-to-ignore \"0\""},
      {{"--subnets-to-ignore", "10.0.0.0/40"}, "--subnets-to-ignore \"10.0.0.0/40\""},
      {{"--ipv6=maybe"}, "--ipv6 \"maybe\""},
      {{"--timeout-close-wait-secs", "-1"}, "--timeout-close-wait-secs \"-1\""},
      {{"--log-format", "xml"}, "--log-format \"xml\""},
      {{"--log-level", "loud"}, "--log-level \"loud\""},
      {{"--iptables-mode", "fast"}, "--iptables-mode \"fast\""},
      {{"--simulate=2"}, "--simulate \"2\""},
      {{"--incoming-proxy-port", "x"}, "--incoming-proxy-port \"x\""},
      {{"--netns", "/nonexistent/x"}, ""},  // a path: judged when entered
      {{"--proxy-gid", "1", "--unknown"}, "unknown flag --unknown"},
  };
  for (const auto& c : cases) {
    if (c.named.empty()) continue;
    std::string e = linkerd_error(c.args);
    EXPECT_NE(e.find(c.named), std::string::npos) << c.args[0] << ": " << e;
  }
  EXPECT_NE(linkerd_error({"--dns-capture"}).find("unknown flag --dns-capture"), std::string::npos);
  auto missing = parse_linkerd({"--outgoing-proxy-port", "4140"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("--incoming-proxy-port is required"), std::string::npos);
}

TEST(LinkerdDialect, RecognisedByItsFirstFlag) {
  EXPECT_TRUE(is_linkerd_flag("--incoming-proxy-port"));
  EXPECT_TRUE(is_linkerd_flag("--incoming-proxy-port=4143"));
  EXPECT_FALSE(is_linkerd_flag("--outbound-port"));
  EXPECT_FALSE(is_linkerd_flag("-p"));
}

// --drop-invalid in the interpreter and through the iptables lowering and back.
TEST(DropInvalid, InterpreterDropsOnlyInvalidInbound) {
  Config c;
  c.drop_invalid = true;
  c.inbound_mode = InboundMode::Tproxy;
  Plan plan = make_plan(c);
  Packet p;
  p.direction = Direction::Inbound;
  p.dst = Cidr::host(Family::V4, "10.1.1.1");
  p.dport = 8080;
  p.iface = "eth0";
  p.invalid = true;
  Verdict v = classify(plan, p);
  EXPECT_TRUE(v.dropped);
  EXPECT_FALSE(v.captured);
  EXPECT_EQ(v.line, "drop-invalid");
  p.invalid = false;
  EXPECT_TRUE(classify(plan, p).captured);
  p.invalid = true;
  p.iface = "lo";
  EXPECT_FALSE(classify(plan, p).dropped);
  c.drop_invalid = false;
  p.iface = "eth0";
  EXPECT_FALSE(classify(make_plan(c), p).dropped);
}

TEST(DropInvalid, IptablesLoweringLiftsBack) {
  Config c;
  c.drop_invalid = true;
  c.inbound_mode = InboundMode::Tproxy;
  Plan plan = make_plan(c);
  auto lowered = lower_iptables(plan);
  auto lifted = lift_iptables(lowered);
  ASSERT_TRUE(lifted) << lifted.error().message;
  EXPECT_EQ(lifted->tables, iptables_held_form(plan).tables);
  // The drop chain is jumped to ahead of the tproxy chain.
  for (const auto& t : lowered.tables)
    if (t.kind == ChainKind::Mangle) {
      ASSERT_GE(t.jumps.size(), 2u);
      EXPECT_EQ(t.jumps[0].chain, "MESHCAP_DROP_INVALID");
    }
}

TEST(GoDuration, Forms) {
  EXPECT_EQ(parse_go_duration("5s")->count(), 5000);
  EXPECT_EQ(parse_go_duration("500ms")->count(), 500);
  EXPECT_EQ(parse_go_duration("1.5s")->count(), 1500);
  EXPECT_FALSE(parse_go_duration("5"));
  EXPECT_FALSE(parse_go_duration("s"));
}

}  // namespace
}  // namespace meshcap::dialects
