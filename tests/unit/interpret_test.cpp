// The interpreter against the capture table (docs/capture.md), written out by
// hand once: (settings, connection) -> deciding line and landing, for IPv4
// and IPv6. Everything else that needs to know where a connection lands (the
// real-traffic tests, --verify traffic, `meshcap explain`) asks the
// interpreter, so this table is the one place the expectations are copied
// from the documentation.
#include "meshcap/interpret.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "meshcap/planner.hpp"
#include "support/configs.hpp"

namespace meshcap {
namespace {

using test::cidr;

// Addresses of a pod, per family.
struct Addrs {
  Family f;
  Cidr pod, peer, far, loop, pass, lo_other;
};
Addrs addrs(Family f) {
  if (f == Family::V4)
    return {f,
            cidr("10.1.0.5"),
            cidr("10.1.0.1"),
            cidr("93.184.216.34"),
            cidr("127.0.0.1"),
            cidr("127.0.0.6"),
            cidr("127.0.0.53")};
  return {f,           cidr("fd00:1::5"), cidr("fd00:1::1"), cidr("2606:2800:220:1::1"),
          cidr("::1"), cidr("::6"),       cidr("::1")};
}

constexpr uint32_t kProxy = 1337, kApp = 5000;

// Builders for the two directions.
Packet in(const Cidr& dst, uint16_t port, const std::string& iface = "eth0", L4 l4 = L4::Tcp) {
  Packet p;
  p.direction = Direction::Inbound;
  p.l4 = l4;
  p.dst = dst;
  p.dport = port;
  p.iface = iface;
  return p;
}
Packet out(const Cidr& dst, uint16_t port, uint32_t uid, uint32_t gid, const std::string& oif = "eth0",
           L4 l4 = L4::Tcp) {
  Packet p;
  p.direction = Direction::Outbound;
  p.l4 = l4;
  p.dst = dst;
  p.dport = port;
  p.iface = oif;
  p.uid = uid;
  p.gid = gid;
  return p;
}
Packet app(const Cidr& dst, uint16_t port, const std::string& oif = "eth0", L4 l4 = L4::Tcp) {
  return out(dst, port, kApp, kApp, oif, l4);
}
Packet proxy(const Cidr& dst, uint16_t port, const std::string& oif = "eth0", L4 l4 = L4::Tcp) {
  return out(dst, port, kProxy, kProxy, oif, l4);
}
Packet from(Packet p, const Cidr& src) {
  p.src = src;
  return p;
}

struct Want {
  std::string line;
  uint16_t port = 0;  // 0: not captured
  bool tproxy = false;
};
Want kept(std::string line) { return {std::move(line), 0, false}; }
Want to(std::string line, uint16_t port, bool tproxy = false) { return {std::move(line), port, tproxy}; }

struct Case {
  std::string what;
  std::function<void(Config&)> settings;
  std::function<Packet(const Addrs&)> packet;
  Want want;
  bool v4_only = false;
};

void none(Config&) {}

std::vector<Case> cases() {
  auto v4_excluded_everywhere = [](Config& c) { c.exclude_outbound_cidrs = {cidr("0.0.0.0/0")}; };
  auto tproxy = [](Config& c) { c.inbound_mode = InboundMode::Tproxy; };
  auto dns = [](Config& c) { c.capture_dns = true; };
  return {
      // Inbound, redirect mode.
      {"inbound 1: excluded interface", [](Config& c) { c.exclude_interfaces = {"eth1"}; },
       [](const Addrs& a) { return in(a.pod, 8080, "eth1"); }, kept("inbound 1")},
      {"inbound 1 beats virt",
       [](Config& c) {
         c.exclude_interfaces = {"eth1"};
         c.virt_interfaces = {"eth1", "tap0"};
       },
       [](const Addrs& a) { return in(a.pod, 8080, "eth1"); }, kept("inbound 1")},
      {"inbound 2: virt interface",
       [](Config& c) {
         c.virt_interfaces = {"tap0"};
         c.exclude_inbound_ports = {{7000, 7010}};
       },
       [](const Addrs& a) { return in(a.pod, 7005, "tap0"); }, to("inbound 2", 15001)},
      {"inbound 2: virt list",
       [](Config& c) {
         c.virt_interfaces = {"tap0", "tap1"};
       },
       [](const Addrs& a) { return in(a.pod, 80, "tap1"); }, to("inbound 2", 15001)},
      {"inbound 3: excluded port",
       [](Config& c) {
         c.exclude_inbound_ports = {{7000, 7010}, {15020, 15020}};
       },
       [](const Addrs& a) { return in(a.pod, 7010, "eth0"); }, kept("inbound 3")},
      {"inbound 3: single excluded port",
       [](Config& c) {
         c.exclude_inbound_ports = {{15020, 15020}};
       },
       [](const Addrs& a) { return in(a.pod, 15020, "eth0"); }, kept("inbound 3")},
      {"inbound 4: every port", none, [](const Addrs& a) { return in(a.pod, 8080); }, to("inbound 4", 15006)},
      {"inbound 4: past the excluded range",
       [](Config& c) {
         c.exclude_inbound_ports = {{7000, 7010}};
       },
       [](const Addrs& a) { return in(a.pod, 7011); }, to("inbound 4", 15006)},
      {"inbound 4: listed port",
       [](Config& c) {
         c.inbound_ports = {false, {{8081, 8081}, {9000, 9010}}};
       },
       [](const Addrs& a) { return in(a.pod, 9010, "eth1"); }, to("inbound 4", 15006)},
      {"inbound 4: unlisted port",
       [](Config& c) {
         c.inbound_ports = {false, {{8081, 8081}, {9000, 9010}}};
       },
       [](const Addrs& a) { return in(a.pod, 9011); }, kept("inbound 4")},
      {"inbound 4: empty list",
       [](Config& c) {
         c.inbound_ports = {false, {}};
       },
       [](const Addrs& a) { return in(a.pod, 8080); }, kept("inbound 4")},
      {"inbound: arriving on lo is not inbound", none, [](const Addrs& a) { return in(a.pod, 8080, "lo"); },
       kept("inbound")},
      {"inbound UDP untouched", none, [](const Addrs& a) { return in(a.pod, 9999, "eth0", L4::Udp); },
       kept("untouched")},
      {"inbound ICMP untouched", none, [](const Addrs& a) { return in(a.pod, 0, "eth0", L4::Other); },
       kept("untouched")},
      // Inbound, tproxy mode.
      {"tproxy inbound 1",
       [](Config& c) {
         c.inbound_mode = InboundMode::Tproxy;
         c.exclude_interfaces = {"eth1"};
       },
       [](const Addrs& a) { return in(a.pod, 8080, "eth1"); }, kept("inbound 1")},
      {"tproxy inbound 2: virt still redirected to outbound",
       [](Config& c) {
         c.inbound_mode = InboundMode::Tproxy;
         c.virt_interfaces = {"tap0"};
       },
       [](const Addrs& a) { return in(a.pod, 8080, "tap0"); }, to("inbound 2", 15001)},
      {"tproxy inbound 3",
       [](Config& c) {
         c.inbound_mode = InboundMode::Tproxy;
         c.exclude_inbound_ports = {{7000, 7010}};
       },
       [](const Addrs& a) { return in(a.pod, 7005); }, kept("inbound 3")},
      {"tproxy inbound 4: every port", tproxy, [](const Addrs& a) { return in(a.pod, 8080); },
       to("inbound 4", 15006, true)},
      {"tproxy inbound 4: listed port",
       [](Config& c) {
         c.inbound_mode = InboundMode::Tproxy;
         c.inbound_ports = {false, {{8081, 8081}}};
       },
       [](const Addrs& a) { return in(a.pod, 8081); }, to("inbound 4", 15006, true)},
      {"tproxy inbound 4: unlisted port",
       [](Config& c) {
         c.inbound_mode = InboundMode::Tproxy;
         c.inbound_ports = {false, {{8081, 8081}}};
       },
       [](const Addrs& a) { return in(a.pod, 8080); }, kept("inbound 4")},
      {"tproxy from lo", tproxy, [](const Addrs& a) { return in(a.pod, 8080, "lo"); }, kept("inbound")},
      {"tproxy: outbound 3 still redirects", tproxy, [](const Addrs& a) { return proxy(a.pod, 8080, "lo"); },
       to("outbound 3", 15006)},
      // Outbound.
      {"outbound 1: excluded interface", [](Config& c) { c.exclude_interfaces = {"eth1"}; },
       [](const Addrs& a) { return app(a.far, 80, "eth1"); }, kept("outbound 1")},
      {"outbound 1: DNS through an excluded interface",
       [](Config& c) {
         c.exclude_interfaces = {"eth1"};
         c.capture_dns = true;
       },
       [](const Addrs& a) { return app(a.far, 53, "eth1", L4::Udp); }, kept("outbound 1")},
      {"outbound 2: passthrough source", none,
       [](const Addrs& a) { return from(proxy(a.pod, 8080, "lo"), a.pass); }, kept("outbound 2")},
      {"outbound 2: the app from the passthrough source", none,
       [](const Addrs& a) { return from(app(a.pod, 8080, "lo"), a.pass); }, kept("outbound 2")},
      {"outbound 3: proxy uid to its own pod", none, [](const Addrs& a) { return proxy(a.pod, 8080, "lo"); },
       to("outbound 3", 15006)},
      {"outbound 3: proxy gid only", none,
       [](const Addrs& a) { return out(a.pod, 8080, kApp, kProxy, "lo"); }, to("outbound 3", 15006)},
      {"outbound 3: listed inbound port",
       [](Config& c) {
         c.inbound_ports = {false, {{8081, 8081}}};
       },
       [](const Addrs& a) { return proxy(a.pod, 8081, "lo"); }, to("outbound 3", 15006)},
      {"outbound 3 does not hold for an unlisted port: 5",
       [](Config& c) {
         c.inbound_ports = {false, {{8081, 8081}}};
       },
       [](const Addrs& a) { return proxy(a.pod, 8080, "lo"); }, kept("outbound 5")},
      {"outbound 3 does not hold for an excluded inbound port: 5",
       [](Config& c) {
         c.exclude_inbound_ports = {{7000, 7010}};
       },
       [](const Addrs& a) { return proxy(a.pod, 7005, "lo"); }, kept("outbound 5")},
      {"outbound 3 does not hold with no inbound capture: 5",
       [](Config& c) {
         c.inbound_ports = {false, {}};
       },
       [](const Addrs& a) { return proxy(a.pod, 8080, "lo"); }, kept("outbound 5")},
      {"outbound 3: second proxy uid",
       [](Config& c) {
         c.proxy_uids = {1337, 1400};
         c.proxy_gids = {2000};
       },
       [](const Addrs& a) { return out(a.pod, 8080, 1400, kApp, "lo"); }, to("outbound 3", 15006)},
      {"outbound 4: app to its own pod", none, [](const Addrs& a) { return app(a.pod, 8080, "lo"); },
       kept("outbound 4")},
      {"outbound 4: root to its own pod", none, [](const Addrs& a) { return out(a.pod, 8080, 0, 0, "lo"); },
       kept("outbound 4")},
      {"outbound 4: gid 1337 is no proxy gid once others are given",
       [](Config& c) {
         c.proxy_uids = {1337, 1400};
         c.proxy_gids = {2000};
       },
       [](const Addrs& a) { return out(a.pod, 8080, kApp, kProxy, "lo"); }, kept("outbound 4")},
      {"outbound 5: proxy upstream", none, [](const Addrs& a) { return proxy(a.far, 443); },
       kept("outbound 5")},
      {"outbound 5: proxy gid upstream", none, [](const Addrs& a) { return out(a.far, 443, kApp, kProxy); },
       kept("outbound 5")},
      {"outbound 5: proxy DNS", dns, [](const Addrs& a) { return proxy(a.peer, 53, "eth0", L4::Udp); },
       kept("outbound 5")},
      // The plan tests loopback destinations first (nothing earlier can
      // capture them), so its line 6 decides what lines 4 and 5 would.
      {"outbound 6: app to loopback", none, [](const Addrs& a) { return app(a.loop, 8080, "lo"); },
       kept("outbound 6")},
      {"outbound 6: proxy to loopback", none, [](const Addrs& a) { return proxy(a.loop, 8080, "lo"); },
       kept("outbound 6")},
      {"outbound 6: DNS to a loopback resolver", dns,
       [](const Addrs& a) { return app(a.lo_other, 53, "lo", L4::Udp); }, kept("outbound 6")},
      {"outbound 7: DNS over UDP", dns, [](const Addrs& a) { return app(a.peer, 53, "eth0", L4::Udp); },
       to("outbound 7", 15053)},
      {"outbound 7: DNS over TCP", dns, [](const Addrs& a) { return app(a.far, 53); },
       to("outbound 7", 15053)},
      {"outbound 7: root's DNS", dns, [](const Addrs& a) { return out(a.peer, 53, 0, 0, "eth0", L4::Udp); },
       to("outbound 7", 15053)},
      {"outbound 7: DNS beats exclude-outbound-ports",
       [](Config& c) {
         c.capture_dns = true;
         c.exclude_outbound_ports = {{53, 53}};
       },
       [](const Addrs& a) { return app(a.peer, 53); }, to("outbound 7", 15053)},
      {"outbound 7: listed resolver",
       [](Config& c) {
         c.capture_dns = true;
         c.dns_servers = {cidr("10.1.0.1"), cidr("fd00:1::1")};
       },
       [](const Addrs& a) { return app(a.peer, 53, "eth0", L4::Udp); }, to("outbound 7", 15053)},
      {"outbound 7: unlisted resolver, UDP",
       [](Config& c) {
         c.capture_dns = true;
         c.dns_servers = {cidr("10.1.0.1"), cidr("fd00:1::1")};
       },
       [](const Addrs& a) { return app(a.far, 53, "eth0", L4::Udp); }, kept("outbound UDP")},
      {"outbound 7: unlisted resolver, TCP goes on to 11",
       [](Config& c) {
         c.capture_dns = true;
         c.dns_servers = {cidr("10.1.0.1"), cidr("fd00:1::1")};
       },
       [](const Addrs& a) { return app(a.far, 53); }, to("outbound 11", 15001)},
      {"outbound 7: no v4 resolver listed: v4 DNS not captured",
       [](Config& c) {
         c.capture_dns = true;
         c.dns_servers = {cidr("fd00:1::1")};
       },
       [](const Addrs& a) { return app(a.far, 53, "eth0", L4::Udp); }, kept("outbound UDP"), true},
      {"outbound 7: off, DNS over TCP is ordinary", none, [](const Addrs& a) { return app(a.peer, 53); },
       to("outbound 11", 15001)},
      {"outbound 7: off, DNS over UDP untouched", none,
       [](const Addrs& a) { return app(a.peer, 53, "eth0", L4::Udp); }, kept("outbound UDP")},
      {"outbound 8: excluded port",
       [](Config& c) {
         c.exclude_outbound_ports = {{3300, 3310}};
       },
       [](const Addrs& a) { return app(a.far, 3300); }, kept("outbound 8")},
      {"outbound 8 beats included port",
       [](Config& c) {
         c.exclude_outbound_ports = {{3306, 3306}};
         c.include_outbound_ports = {{3306, 3306}};
       },
       [](const Addrs& a) { return app(a.far, 3306); }, kept("outbound 8")},
      {"outbound 9: included port beats excluded CIDR",
       [](Config& c) {
         c.include_outbound_ports = {{6379, 6379}};
         c.exclude_outbound_cidrs = {cidr("0.0.0.0/0"), cidr("::/0")};
       },
       [](const Addrs& a) { return app(a.far, 6379); }, to("outbound 9", 15001)},
      {"outbound 9: included range to an unlisted destination",
       [](Config& c) {
         c.include_outbound_ports = {{6000, 6999}};
         c.outbound_cidrs = {false, {cidr("192.168.0.0/16")}};
       },
       [](const Addrs& a) { return app(a.far, 6379); }, to("outbound 9", 15001)},
      {"outbound 10: excluded CIDR",
       [](Config& c) {
         c.exclude_outbound_cidrs = {cidr("93.184.0.0/16"), cidr("2606:2800::/32")};
       },
       [](const Addrs& a) { return app(a.far, 80); }, kept("outbound 10")},
      {"outbound 10: excluded host",
       [](Config& c) {
         c.exclude_outbound_cidrs = {cidr("93.184.216.34"), cidr("2606:2800:220:1::1")};
       },
       [](const Addrs& a) { return app(a.far, 80); }, kept("outbound 10")},
      {"outbound 10: a v4 CIDR never affects v6", v4_excluded_everywhere,
       [](const Addrs& a) { return app(a.far, 80); }, kept("outbound 10"), true},
      {"outbound 11: every destination", none, [](const Addrs& a) { return app(a.far, 80); },
       to("outbound 11", 15001)},
      {"outbound 11: root too", none, [](const Addrs& a) { return out(a.far, 80, 0, 0); },
       to("outbound 11", 15001)},
      {"outbound 11: next to an excluded sub-range",
       [](Config& c) {
         c.outbound_cidrs = {false, {cidr("93.184.216.0/24"), cidr("2606:2800:220:1::/64")}};
         c.exclude_outbound_cidrs = {cidr("93.184.216.128/25"), cidr("2606:2800:220:1::80/121")};
       },
       [](const Addrs& a) { return app(a.far, 80); }, to("outbound 11", 15001)},
      {"outbound 11: to another proxy uid list's non-member",
       [](Config& c) {
         c.proxy_uids = {1400};
         c.proxy_gids = {1400};
       },
       [](const Addrs& a) { return proxy(a.far, 80); }, to("outbound 11", 15001)},
      {"outbound 12: not listed",
       [](Config& c) {
         c.outbound_cidrs = {false, {cidr("192.168.0.0/16"), cidr("fd99::/16")}};
       },
       [](const Addrs& a) { return app(a.far, 80); }, kept("outbound 12")},
      {"outbound 12: empty list",
       [](Config& c) {
         c.outbound_cidrs = {false, {}};
       },
       [](const Addrs& a) { return app(a.far, 80); }, kept("outbound 12")},
      {"outbound UDP other than DNS", dns, [](const Addrs& a) { return app(a.far, 9999, "eth0", L4::Udp); },
       kept("outbound UDP")},
      {"outbound ICMP untouched", dns, [](const Addrs& a) { return app(a.far, 0, "eth0", L4::Other); },
       kept("untouched")},
  };
}

class Interpret : public ::testing::TestWithParam<Family> {};

TEST_P(Interpret, EveryLineOfTheCaptureTable) {
  Family f = GetParam();
  Addrs a = addrs(f);
  for (const auto& c : cases()) {
    if (c.v4_only && f == Family::V6) continue;
    Config config;
    config.ipv6 = Ipv6Mode::On;
    c.settings(config);
    Verdict v = classify(make_plan(config), c.packet(a));
    SCOPED_TRACE(std::string(f == Family::V4 ? "[v4] " : "[v6] ") + c.what + " -> " + describe(v));
    EXPECT_EQ(v.line, c.want.line);
    EXPECT_EQ(v.captured, c.want.port != 0);
    EXPECT_EQ(v.port, c.want.port);
    EXPECT_EQ(v.tproxy, c.want.tproxy);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Interpret, ::testing::Values(Family::V4, Family::V6),
                         [](const auto& p) { return p.param == Family::V4 ? "V4" : "V6"; });

TEST(Interpret, V4OnlyCasesFlipOnV6) {
  // The v4-only rows above, seen from IPv6: v4 settings leave v6 alone.
  Config c;
  c.exclude_outbound_cidrs = {cidr("0.0.0.0/0")};
  Verdict v = classify(make_plan(c), app(cidr("2606:2800:220:1::1"), 80));
  EXPECT_EQ(v.line, "outbound 11");
  EXPECT_TRUE(v.captured);
  c = Config{};
  c.capture_dns = true;
  c.dns_servers = {cidr("fd00:1::1")};
  EXPECT_EQ(classify(make_plan(c), app(cidr("fd00:1::1"), 53, "eth0", L4::Udp)).port, 15053);
}

TEST(Interpret, NoTableOfTheFamilyCapturesNothing) {
  Config c;
  c.ipv6 = Ipv6Mode::Off;
  Verdict v = classify(make_plan(c), app(cidr("2606:2800:220:1::1"), 80));
  EXPECT_FALSE(v.captured);
  EXPECT_EQ(v.line, "outbound 12");
}

TEST(Interpret, DnsZonesAreRecordedNotTerminal) {
  Config c;
  c.capture_dns = true;
  Verdict app_query = classify(make_plan(c), app(cidr("10.1.0.1"), 53, "eth0", L4::Udp));
  EXPECT_EQ(app_query.zone, std::optional<uint16_t>(kZoneAppQueries));
  EXPECT_EQ(app_query.port, 15053);
  Verdict proxy_query = classify(make_plan(c), proxy(cidr("10.1.0.1"), 53, "eth0", L4::Udp));
  EXPECT_EQ(proxy_query.zone, std::optional<uint16_t>(kZoneProxyUpstream));
  EXPECT_FALSE(proxy_query.captured);
}

TEST(Interpret, UnknownOwnerOrSourceMatchesNothing) {
  Plan plan = make_plan(Config{});
  Packet p = app(cidr("10.1.0.5"), 8080, "lo");
  p.uid.reset();
  p.gid.reset();
  EXPECT_EQ(classify(plan, p).line, "outbound 4");  // not the proxy, not the passthrough source
}

TEST(Interpret, PathShowsTheJumpAndTheRedirect) {
  Verdict v = classify(make_plan(Config{}), proxy(cidr("10.1.0.5"), 8080, "lo"));
  ASSERT_EQ(v.path.size(), 2u);
  EXPECT_EQ(v.path[0].chain, "output");
  EXPECT_EQ(v.path[1].chain, "inbound");
  EXPECT_EQ(describe(v),
            "outbound 3: captured to port 15006 (proxy calling its own pod on an inbound-captured port "
            "(proxy uid))");
}

TEST(Interpret, LineOfNotes) {
  EXPECT_EQ(line_of("outbound 3: x"), "outbound 3");
  EXPECT_EQ(line_of("inbound 12"), "inbound 12");
  EXPECT_EQ(line_of("inbound 3-4: inbound TCP"), "");
  EXPECT_EQ(line_of("inbound: only traffic"), "");
  EXPECT_EQ(line_of("DNS zones: x"), "");
  EXPECT_EQ(line_of(""), "");
}

TEST(Interpret, AnnotateRecoversNotesOfExpandedRules) {
  Config c = test::everything_on();
  Plan planned = make_plan(c);
  Plan held = planned;
  // Strip notes and expand one set by hand, as an iptables read-back holds it.
  for (auto& t : held.tables)
    for (auto& ch : t.chains) {
      std::vector<Rule> rules;
      for (auto& r : ch.rules) {
        r.note.clear();
        auto* owner = r.matches.empty() ? nullptr : std::get_if<OwnerMatch>(&r.matches.back());
        if (owner && owner->ids.size() > 1) {
          for (uint32_t id : owner->ids) {
            Rule one = r;
            std::get<OwnerMatch>(one.matches.back()) = OwnerMatch{owner->gid, {id}, ""};
            rules.push_back(one);
          }
        } else {
          rules.push_back(r);
        }
      }
      ch.rules = rules;
    }
  Packet p = out(cidr("10.96.0.20"), 443, 1338, 1, "eth0");
  EXPECT_EQ(classify(held, p).line, "unplanned rule");
  annotate(held, planned);
  Verdict v = classify(held, p);
  EXPECT_EQ(v.line, "outbound 5");
}

}  // namespace
}  // namespace meshcap
