// The planner's structural promises; behaviour is proven with real traffic in
// tests/integration/capture_test.cpp.
#include <algorithm>

#include <gtest/gtest.h>

#include "meshcap/plan.hpp"
#include "meshcap/planner.hpp"

namespace meshcap {
namespace {

const Table* table(const Plan& p, Family f) {
  for (const auto& t : p.tables)
    if (t.family == f) return &t;
  return nullptr;
}

const Chain* chain(const Table& t, const std::string& name) {
  for (const auto& c : t.chains)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<std::string> notes(const Chain& c) {
  std::vector<std::string> out;
  for (const auto& r : c.rules) out.push_back(r.note);
  return out;
}

bool has_note(const Chain& c, const std::string& prefix) {
  auto n = notes(c);
  return std::any_of(n.begin(), n.end(), [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
}

Config everything() {
  Config c;
  c.proxy_uids = {1337, 1338};
  c.proxy_gids = {1337};
  c.exclude_inbound_ports = {{15020, 15021}};
  c.exclude_outbound_ports = {{9000, 9100}};
  c.include_outbound_ports = {{3306, 3306}};
  c.exclude_outbound_cidrs = {*Cidr::parse("10.0.0.0/8"), *Cidr::parse("fd00::/8")};
  c.exclude_interfaces = {"eth9"};
  c.virt_interfaces = {"tap0"};
  c.capture_dns = true;
  c.dns_servers = {*Cidr::parse("10.96.0.10")};
  return c;
}

TEST(Planner, DefaultPlanHasBothFamiliesAndNoRoutingState) {
  Plan p = make_plan(Config{});
  ASSERT_EQ(p.tables.size(), 2u);
  EXPECT_EQ(p.tables[0].family, Family::V4);
  EXPECT_EQ(p.tables[1].family, Family::V6);
  EXPECT_TRUE(p.policy_rules.empty());
  EXPECT_TRUE(p.local_routes.empty());
  ASSERT_EQ(p.lo_addresses.size(), 1u);
  EXPECT_EQ(p.lo_addresses[0].address.str(), "::6");
  for (const auto& t : p.tables) {
    EXPECT_NE(chain(t, "prerouting"), nullptr);
    EXPECT_NE(chain(t, "output"), nullptr);
    EXPECT_NE(chain(t, "inbound"), nullptr);
    EXPECT_EQ(chain(t, "inbound_tproxy"), nullptr);
    EXPECT_EQ(chain(t, "raw_output"), nullptr);
  }
}

TEST(Planner, Ipv6OffDropsTheV6TableAndLoAddress) {
  Config c;
  c.ipv6 = Ipv6Mode::Off;
  Plan p = make_plan(c);
  ASSERT_EQ(p.tables.size(), 1u);
  EXPECT_EQ(p.tables[0].family, Family::V4);
  EXPECT_TRUE(p.lo_addresses.empty());
}

TEST(Planner, OutboundChainFollowsSpecOrder) {
  Plan p = make_plan(everything());
  const Chain* out = chain(*table(p, Family::V4), "output");
  ASSERT_NE(out, nullptr);
  std::vector<std::string> want_prefixes = {
      "outbound 1", "outbound 2", "outbound 6", "outbound 3", "outbound 3", "outbound 5",
      "outbound 5", "outbound 4", "outbound 7", "outbound 7", "outbound 8", "outbound 9",
      "outbound 10", "outbound 11"};
  auto got = notes(*out);
  ASSERT_EQ(got.size(), want_prefixes.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].rfind(want_prefixes[i], 0), 0u) << got[i];
}

TEST(Planner, FamiliesOnlySeeTheirOwnCidrs) {
  Plan p = make_plan(everything());
  for (const auto& t : p.tables)
    for (const auto& s : named_sets(t)) {
      if (auto* m = std::get_if<AddrMatch>(&s.match)) {
        for (const auto& cidr : m->cidrs) EXPECT_EQ(cidr.family, t.family) << s.name;
        EXPECT_EQ(s.type, t.family == Family::V4 ? SetType::Ipv4Addr : SetType::Ipv6Addr);
      }
    }
  // DNS servers are all IPv4, so IPv6 DNS is not captured at all.
  const Table* v6 = table(p, Family::V6);
  EXPECT_FALSE(has_note(*chain(*v6, "output"), "outbound 7"));
  EXPECT_EQ(chain(*v6, "raw_output"), nullptr);
  EXPECT_TRUE(has_note(*chain(*table(p, Family::V4), "output"), "outbound 7"));
}

TEST(Planner, ASetNameAlwaysHoldsTheSameElements) {
  Plan p = make_plan(everything());
  for (const auto& t : p.tables) {
    auto sets = named_sets(t);
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        for (const auto& m : r.matches)
          std::visit(
              [&](const auto& x) {
                if constexpr (requires { x.set; }) {
                  if (x.set.empty()) return;
                  auto it = std::find_if(sets.begin(), sets.end(),
                                         [&](const NamedSet& s) { return s.name == x.set; });
                  ASSERT_NE(it, sets.end());
                  // Same values whichever direction (source/destination) uses it.
                  auto same = std::visit(
                      [&](const auto& y) -> bool {
                        using Y = std::decay_t<decltype(y)>;
                        using X = std::decay_t<decltype(x)>;
                        if constexpr (std::is_same_v<X, Y>) {
                          if constexpr (requires { y.cidrs; }) return y.cidrs == x.cidrs;
                          if constexpr (requires { y.ports; }) return y.ports == x.ports;
                          if constexpr (requires { y.ids; }) return y.ids == x.ids;
                          if constexpr (requires { y.names; }) return y.names == x.names;
                        }
                        if constexpr (requires { y.names; } && requires { x.names; })
                          return y.names == x.names;  // iif/oif share interface sets
                        return false;
                      },
                      it->match);
                  EXPECT_TRUE(same) << x.set;
                }
              },
              m);
  }
}

TEST(Planner, PlainMatchesHoldExactlyOneExactValue) {
  Plan p = make_plan(everything());
  for (const auto& t : p.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        for (const auto& m : r.matches) {
          if (auto* a = std::get_if<AddrMatch>(&m); a && a->set.empty()) {
            ASSERT_EQ(a->cidrs.size(), 1u);
            EXPECT_TRUE(a->cidrs[0].is_host());
          }
          if (auto* pm = std::get_if<PortMatch>(&m); pm && pm->set.empty()) {
            ASSERT_EQ(pm->ports.size(), 1u);
            EXPECT_TRUE(pm->ports[0].single());
          }
          if (auto* i = std::get_if<IifMatch>(&m); i && i->set.empty()) {
            EXPECT_EQ(i->names.size(), 1u);
          }
          if (auto* o = std::get_if<OifMatch>(&m); o && o->set.empty()) {
            EXPECT_EQ(o->names.size(), 1u);
          }
        }
}

TEST(Planner, RedirectAndTproxyActionsAlwaysKnowTheProtocol) {
  for (auto mode : {InboundMode::Redirect, InboundMode::Tproxy}) {
    Config c = everything();
    c.inbound_mode = mode;
    Plan p = make_plan(c);
    for (const auto& t : p.tables)
      for (const auto& ch : t.chains)
        for (const auto& r : ch.rules) {
          if (!std::holds_alternative<RedirectAction>(r.action) &&
              !std::holds_alternative<TproxyAction>(r.action))
            continue;
          bool proto = std::any_of(r.matches.begin(), r.matches.end(), [](const Match& m) {
            return std::holds_alternative<ProtoMatch>(m) || std::holds_alternative<PortMatch>(m);
          });
          EXPECT_TRUE(proto) << ch.name << ": " << r.note;
        }
  }
}

TEST(Planner, TproxyModeAddsMangleChainPolicyRulesAndRoutes) {
  Config c;
  c.inbound_mode = InboundMode::Tproxy;
  c.tproxy_mark = 0x539;
  c.tproxy_table = 133;
  Plan p = make_plan(c);
  for (const auto& t : p.tables) {
    const Chain* tp = chain(t, "inbound_tproxy");
    ASSERT_NE(tp, nullptr);
    EXPECT_EQ(tp->kind, ChainKind::Mangle);
    EXPECT_EQ(tp->hook, Hook::Prerouting);
    EXPECT_EQ(std::get<TproxyAction>(tp->rules.back().action), (TproxyAction{15006, 0x539}));
    // Inbound TCP no longer goes through NAT prerouting.
    EXPECT_EQ(chain(t, "prerouting"), nullptr);
    // The proxy calling its own pod still uses the NAT inbound chain.
    EXPECT_NE(chain(t, "inbound"), nullptr);
  }
  ASSERT_EQ(p.policy_rules.size(), 2u);
  EXPECT_EQ(p.policy_rules[0], (PolicyRule{Family::V4, 0x539, 133, kTproxyRulePriority}));
  EXPECT_EQ(p.policy_rules[1].family, Family::V6);
  ASSERT_EQ(p.local_routes.size(), 2u);
  EXPECT_EQ(p.local_routes[1], (LocalRoute{Family::V6, 133}));
}

TEST(Planner, EmptyInboundPortsCaptureNothingInbound) {
  Config c;
  c.inbound_ports = {false, {}};
  Plan p = make_plan(c);
  for (const auto& t : p.tables) {
    EXPECT_EQ(chain(t, "prerouting"), nullptr);
    EXPECT_EQ(chain(t, "inbound"), nullptr);
    EXPECT_FALSE(has_note(*chain(t, "output"), "outbound 3"));
  }
}

// --self-ports decides outbound line 3 by itself: a redirect to the inbound
// port that no longer depends on what inbound captures.
TEST(Planner, SelfPortsRedirectTheProxysOwnCallsWithoutTheInboundChain) {
  Config c;
  c.inbound_ports = {false, {}};
  c.self_ports = AllOr<PortRange>{false, {{1, 15007}, {15009, 65535}}};
  Plan p = make_plan(c);
  for (const auto& t : p.tables) {
    EXPECT_EQ(chain(t, "inbound"), nullptr);
    const Chain* out = chain(t, "output");
    size_t line3 = 0;
    for (const auto& r : out->rules) {
      if (r.note.rfind("outbound 3", 0) != 0) continue;
      ++line3;
      EXPECT_EQ(std::get<RedirectAction>(r.action).port, c.inbound_port);
      auto& m = std::get<PortMatch>(r.matches.at(1));
      EXPECT_EQ(m.set, "self_ports");
      EXPECT_EQ(m.ports, c.self_ports->items);
    }
    EXPECT_EQ(line3, 2u);  // proxy uid and proxy gid
  }
  c.self_ports = AllOr<PortRange>{true, {}};
  EXPECT_TRUE(has_note(*chain(make_plan(c).tables[0], "output"), "outbound 3: proxy calling its own pod, every port"));
  c.self_ports = AllOr<PortRange>{false, {}};
  EXPECT_FALSE(has_note(*chain(make_plan(c).tables[0], "output"), "outbound 3"));
  c.self_ports = AllOr<PortRange>{true, {}};
  c.lo_passthrough = true;
  EXPECT_FALSE(has_note(*chain(make_plan(c).tables[0], "output"), "outbound 3"));
}

TEST(Planner, ExplicitInboundPortsUseASet) {
  Config c;
  c.inbound_ports = {false, {{8080, 8080}, {9000, 9010}}};
  Plan p = make_plan(c);
  const Chain* in = chain(p.tables[0], "inbound");
  ASSERT_NE(in, nullptr);
  auto& m = std::get<PortMatch>(in->rules.back().matches.at(0));
  EXPECT_EQ(m.set, "inbound_ports");
  EXPECT_EQ(m.ports.size(), 2u);
  auto sets = named_sets(p.tables[0]);
  auto it = std::find_if(sets.begin(), sets.end(), [](const NamedSet& s) { return s.name == "inbound_ports"; });
  ASSERT_NE(it, sets.end());
  EXPECT_TRUE(it->interval);
  EXPECT_EQ(it->type, SetType::InetService);
}

TEST(Planner, VirtInterfacesRedirectToTheOutboundPortBeforeInboundExclusions) {
  Plan p = make_plan(everything());
  const Chain* pre = chain(p.tables[0], "prerouting");
  ASSERT_NE(pre, nullptr);
  auto n = notes(*pre);
  ASSERT_GE(n.size(), 4u);
  EXPECT_EQ(n[1].rfind("inbound 1", 0), 0u);
  EXPECT_EQ(n[2].rfind("inbound 2", 0), 0u);
  EXPECT_EQ(std::get<RedirectAction>(pre->rules[2].action).port, 15001);
}

TEST(Planner, OnlyGidsStillExemptTheProxy) {
  Config c;
  c.proxy_uids = {};
  c.proxy_gids = {2000};
  Plan p = make_plan(c);
  const Chain* out = chain(p.tables[0], "output");
  size_t gid_rules = 0, uid_rules = 0;
  for (const auto& r : out->rules)
    for (const auto& m : r.matches)
      if (auto* o = std::get_if<OwnerMatch>(&m)) (o->gid ? gid_rules : uid_rules)++;
  EXPECT_EQ(uid_rules, 0u);
  EXPECT_EQ(gid_rules, 2u);  // outbound 3 and outbound 5
}

TEST(Planner, DnsZonesSeparateProxyAndAppFlows) {
  Config c;
  c.capture_dns = true;
  Plan p = make_plan(c);
  const Chain* raw = chain(p.tables[0], "raw_output");
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(raw->kind, ChainKind::Raw);
  // The app's query zone rule comes after every proxy rule, behind a return
  // for proxy-owned packets, so the two zones can never both apply.
  auto& last = raw->rules.back();
  EXPECT_EQ(std::get<CtZoneAction>(last.action).zone, kZoneAppQueries);
  bool proxy_return = std::any_of(raw->rules.begin(), raw->rules.end(), [](const Rule& r) {
    return std::holds_alternative<ReturnAction>(r.action);
  });
  EXPECT_TRUE(proxy_return);
  const Chain* rawpre = chain(p.tables[0], "raw_prerouting");
  ASSERT_NE(rawpre, nullptr);
  EXPECT_EQ(std::get<CtZoneAction>(rawpre->rules.at(0).action).zone, kZoneProxyUpstream);
}

TEST(Planner, IsPure) { EXPECT_EQ(make_plan(everything()), make_plan(everything())); }

}  // namespace
}  // namespace meshcap
