// `meshcap explain`: argument parsing, the answer for a handful of
// connections, and the binary's exit codes. Which line decides is the
// interpreter's business (tests/unit/interpret_test.cpp); these tests pin
// how explain asks it and prints its answer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "app/explain.hpp"
#include "meshcap/planner.hpp"
#include "support/process.hpp"

namespace meshcap::app {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

ExplainRequest parsed(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {}) {
  auto r = parse_explain(args, env);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : ExplainRequest{};
}

std::string explain(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {}) {
  ExplainRequest req = parsed(args, env);
  req.config.ipv6 = Ipv6Mode::On;
  return explain_text(req, make_plan(req.config), "the plan of these settings");
}

TEST(Explain, ProxyCallingItsOwnPod) {
  EXPECT_EQ(
      explain({"--to", "10.1.0.5:8080", "--uid", "1337", "--iface", "lo"}),
      "connection: from the pod, tcp to 10.1.0.5:8080 leaving through lo, uid 1337, any gid but a proxy's\n"
      "line:       outbound 3\n"
      "because:    proxy calling its own pod on an inbound-captured port (proxy uid)\n"
      "lands:      captured to port 15006 (the inbound port) by redirect: the proxy reads the original "
      "destination with SO_ORIGINAL_DST\n"
      "rules:      output rule 3 -> inbound rule 1 (ip table), in the plan of these settings\n");
}

TEST(Explain, AppToTheOutsideWorld) {
  auto text = explain({"--to=93.184.216.34:443", "--uid=5000", "--gid=5000"});
  EXPECT_THAT(text, HasSubstr("leaving through eth0 (assumed), uid 5000, gid 5000"));
  EXPECT_THAT(text, HasSubstr("line:       outbound 11\n"));
  EXPECT_THAT(text, HasSubstr("captured to port 15001 (the outbound port)"));
}

TEST(Explain, SettingsFlagsAndVariablesApply) {
  auto flag = explain({"--to", "93.184.216.34:443", "--exclude-outbound-cidrs", "93.184.0.0/16"});
  EXPECT_THAT(flag, HasSubstr("line:       outbound 10\n"));
  EXPECT_THAT(flag, HasSubstr("not captured: it reaches 93.184.216.34:443 untouched"));
  auto env = explain({"--to", "93.184.216.34:443"}, {{"MESHCAP_OUTBOUND_CIDRS", "10.0.0.0/8"}});
  EXPECT_THAT(env, HasSubstr("line:       outbound 12\n"));
}

TEST(Explain, InboundTproxy) {
  auto text = explain(
      {"--from", "outside", "--to", "[fd00:1::5]:8080", "--iface", "eth1", "--inbound-mode", "tproxy"});
  EXPECT_THAT(text, HasSubstr("from outside, tcp to [fd00:1::5]:8080 arriving on eth1\n"));
  EXPECT_THAT(text, HasSubstr("line:       inbound 4\n"));
  EXPECT_THAT(text, HasSubstr("by tproxy"));
  EXPECT_THAT(text, HasSubstr("inbound_tproxy rule 2 (ip6 table)"));
}

TEST(Explain, InboundExcludedPortAndLoopbackDefault) {
  EXPECT_THAT(explain({"--from", "outside", "--to", "10.1.0.5:15020", "--exclude-inbound-ports", "15020"}),
              HasSubstr("line:       inbound 3\n"));
  auto loop = explain({"--to", "127.0.0.1:8080"});
  EXPECT_THAT(loop, HasSubstr("leaving through lo (assumed)"));
  EXPECT_THAT(loop, HasSubstr("line:       outbound 6\n"));
}

TEST(Explain, DnsWithItsConntrackZone) {
  auto app = explain({"--to", "10.96.0.10:53", "--proto", "udp", "--capture-dns"});
  EXPECT_THAT(app, HasSubstr("captured to port 15053 (the DNS port)"));
  EXPECT_THAT(app, HasSubstr("conntrack:  zone 2\n"));
  auto proxy = explain({"--to", "10.96.0.10:53", "--proto", "udp", "--capture-dns", "--uid", "1337"});
  EXPECT_THAT(proxy, HasSubstr("line:       outbound 5\n"));
  EXPECT_THAT(proxy, HasSubstr("conntrack:  zone 1\n"));
  EXPECT_THAT(explain({"--to", "10.96.0.10:9999", "--proto", "udp", "--capture-dns"}),
              HasSubstr("line:       outbound UDP\n"));
  EXPECT_THAT(explain({"--to", "10.96.0.10", "--proto", "icmp"}), HasSubstr("line:       untouched\n"));
}

TEST(Explain, PassthroughSource) {
  auto text = explain({"--to", "10.1.0.5:8080", "--src", "127.0.0.6", "--uid", "1337", "--iface", "lo"});
  EXPECT_THAT(text, HasSubstr("from 127.0.0.6 leaving through lo"));
  EXPECT_THAT(text, HasSubstr("line:       outbound 2\n"));
}

TEST(Explain, BadInputIsOneLineNamingEveryProblem) {
  auto r = parse_explain({"--from", "nowhere", "--to", "10.0.0.1", "--uid", "x", "--iface", "a/b"}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
  const auto& m = r.error().message;
  EXPECT_THAT(m, StartsWith("explain: "));
  EXPECT_THAT(m, HasSubstr("--from nowhere"));
  EXPECT_THAT(m, HasSubstr("--to 10.0.0.1 is not ADDR:PORT"));
  EXPECT_THAT(m, HasSubstr("--uid x"));
  EXPECT_THAT(m, HasSubstr("--iface a/b"));
  EXPECT_EQ(m.find('\n'), std::string::npos);

  for (std::vector<std::string> bad : {
           std::vector<std::string>{},                                     // no --to
           {"--to", "10.0.0.1:0"},                                         // port 0
           {"--to", "10.0.0.0/8:80"},                                      // a network
           {"--to", "fd00::1:80"},                                         // v6 without brackets
           {"--to", "10.0.0.1:80", "--src", "fd00::1"},                    // mixed families
           {"--to", "10.0.0.1:80", "--from", "outside", "--uid", "1337"},  // inbound has no owner
           {"--to", "10.0.0.1:80", "--proto", "sctp"},
           {"--to", "10.0.0.1:80", "--outbound-port", "0"},  // a settings problem
           {"--to", "10.0.0.1:80", "--no-such-flag"},
           {"--to"},
       }) {
    auto e = parse_explain(bad, {});
    ASSERT_FALSE(e) << ::testing::PrintToString(bad);
    EXPECT_EQ(e.error().kind, ErrorKind::BadInput);
  }
}

TEST(ExplainBinary, ExitCodes) {
  auto ok = test::run_program({MESHCAP_BINARY, "explain", "--to", "10.1.0.5:80", "--log-level", "off"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("line:       outbound 11\n"));
  EXPECT_EQ(ok.err, "");

  auto help = test::run_program({MESHCAP_BINARY, "explain", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, StartsWith("Usage: meshcap explain"));

  auto bad = test::run_program({MESHCAP_BINARY, "explain", "--to", "nowhere"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("--to nowhere"));

  auto bad_setting = test::run_program({MESHCAP_BINARY, "explain", "--to", "10.1.0.5:80"},
                                       {{"MESHCAP_INBOUND_MODE", "sideways"}});
  EXPECT_EQ(bad_setting.status, 2);
  EXPECT_THAT(bad_setting.err, HasSubstr("MESHCAP_INBOUND_MODE"));
}

}  // namespace
}  // namespace meshcap::app
