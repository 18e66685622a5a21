#include "meshcap/expand.hpp"
#include "support/configs.hpp"

#include <gtest/gtest.h>

#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"

namespace meshcap {
namespace {

using test::cidr;
using test::everything_on;

Plan one_rule(std::vector<Match> matches, Action action = ReturnAction{}) {
  Plan p;
  Table t{Family::V4, {}};
  t.chains.push_back(
      Chain{"output", ChainKind::Nat, Hook::Output, {Rule{std::move(matches), std::move(action), "why"}}});
  p.tables.push_back(std::move(t));
  return p;
}

const std::vector<Rule>& rules(const Plan& p) { return p.tables.at(0).chains.at(0).rules; }

// True when every match is a plain comparison holding one value.
bool single_valued(const Plan& p) {
  for (const auto& t : p.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        for (const auto& m : r.matches) {
          bool ok = std::visit(
              [](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, ProtoMatch>) {
                  return true;
                } else if constexpr (std::is_same_v<T, IifMatch> || std::is_same_v<T, OifMatch>) {
                  return x.set.empty() && x.names.size() == 1;
                } else if constexpr (std::is_same_v<T, PortMatch>) {
                  return x.set.empty() && x.ports.size() == 1;
                } else if constexpr (std::is_same_v<T, AddrMatch>) {
                  return x.set.empty() && x.cidrs.size() == 1;
                } else {
                  return x.set.empty() && x.ids.size() == 1;
                }
              },
              m);
          if (!ok) return false;
        }
  return true;
}

TEST(ExpandSets, PlainRulesStayAsTheyAre) {
  Plan p = one_rule({OifMatch{{"lo"}, ""}, OwnerMatch{false, {1337}, ""}});
  EXPECT_EQ(expand_sets(p), p);
}

TEST(ExpandSets, OneRulePerElementKeepingActionAndNote) {
  Plan p = one_rule({PortMatch{Proto::Tcp, false, {{80, 80}, {8000, 8100}}, "ports"}}, RedirectAction{15001});
  auto got = rules(expand_sets(p));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].matches, (std::vector<Match>{PortMatch{Proto::Tcp, false, {{80, 80}}, ""}}));
  EXPECT_EQ(got[1].matches, (std::vector<Match>{PortMatch{Proto::Tcp, false, {{8000, 8100}}, ""}}))
      << "a range is one value";
  for (const auto& r : got) EXPECT_EQ(r.action, Action{RedirectAction{15001}});
  EXPECT_EQ(got[0].note, "why");
  EXPECT_EQ(got[1].note, "") << "the group's reason is printed once";
}

TEST(ExpandSets, SeveralSetsGiveTheCrossProductInRuleOrder) {
  Plan p = one_rule(
      {IifMatch{{"eth0", "eth1"}, "ifs"}, AddrMatch{false, {cidr("10.0.0.0/8"), cidr("192.168.1.1")}, "dst"}},
      JumpAction{"inbound"});
  auto got = rules(expand_sets(p));
  ASSERT_EQ(got.size(), 4u);
  // The entry's -d comes before -i, whatever the plan's order.
  EXPECT_EQ(got[0].matches,
            (std::vector<Match>{AddrMatch{false, {cidr("10.0.0.0/8")}, ""}, IifMatch{{"eth0"}, ""}}));
  EXPECT_EQ(got[1].matches,
            (std::vector<Match>{AddrMatch{false, {cidr("192.168.1.1")}, ""}, IifMatch{{"eth0"}, ""}}));
  EXPECT_EQ(got[2].matches,
            (std::vector<Match>{AddrMatch{false, {cidr("10.0.0.0/8")}, ""}, IifMatch{{"eth1"}, ""}}));
  EXPECT_EQ(got[3].matches,
            (std::vector<Match>{AddrMatch{false, {cidr("192.168.1.1")}, ""}, IifMatch{{"eth1"}, ""}}));
}

TEST(ExpandSets, MatchesTakeIptablesEntryOrder) {
  Plan p = one_rule({OwnerMatch{true, {42}, ""}, PortMatch{Proto::Udp, false, {{53, 53}}, ""},
                     OifMatch{{"lo"}, ""}, AddrMatch{false, {cidr("10.0.0.1")}, ""},
                     AddrMatch{true, {cidr("127.0.0.6")}, ""}});
  auto got = rules(expand_sets(p));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].matches,
            (std::vector<Match>{AddrMatch{true, {cidr("127.0.0.6")}, ""},
                                AddrMatch{false, {cidr("10.0.0.1")}, ""}, OifMatch{{"lo"}, ""},
                                OwnerMatch{true, {42}, ""}, PortMatch{Proto::Udp, false, {{53, 53}}, ""}}))
      << "extensions keep plan order (owner before udp here)";
}

TEST(ExpandSets, AnEmptySetMatchesNothing) {
  Plan p = one_rule({OwnerMatch{false, {}, "none"}});
  EXPECT_TRUE(rules(expand_sets(p)).empty());
}

TEST(ExpandSets, KeepsNonNetfilterState) {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  c.inbound_mode = InboundMode::Tproxy;
  Plan p = make_plan(c);
  Plan e = expand_sets(p);
  EXPECT_EQ(e.policy_rules, p.policy_rules);
  EXPECT_EQ(e.local_routes, p.local_routes);
  EXPECT_EQ(e.lo_addresses, p.lo_addresses);
  ASSERT_EQ(e.tables.size(), p.tables.size());
  for (size_t i = 0; i < p.tables.size(); ++i) {
    ASSERT_EQ(e.tables[i].chains.size(), p.tables[i].chains.size());
    for (size_t j = 0; j < p.tables[i].chains.size(); ++j) {
      EXPECT_EQ(e.tables[i].chains[j].name, p.tables[i].chains[j].name);
      EXPECT_EQ(e.tables[i].chains[j].kind, p.tables[i].chains[j].kind);
      EXPECT_EQ(e.tables[i].chains[j].hook, p.tables[i].chains[j].hook);
    }
  }
}


TEST(ExpandSets, PlannerPlansBecomeSingleValued) {
  for (bool tproxy : {false, true}) {
    Config c = everything_on();
    if (tproxy) c.inbound_mode = InboundMode::Tproxy;
    Plan e = expand_sets(make_plan(c));
    EXPECT_TRUE(single_valued(e));
    EXPECT_EQ(expand_sets(e), e) << "expanding twice changes nothing";
  }
}

// The iptables renderer already expands; rendering the expanded plan gives the
// same text except that port sets become one tcp/udp match per element.
TEST(ExpandSets, RendersLikeThePlanWithoutPortSets) {
  Config c = everything_on();
  c.exclude_outbound_ports.clear();
  c.include_outbound_ports.clear();
  c.exclude_inbound_ports.clear();
  Plan p = make_plan(c);
  EXPECT_EQ(render_iptables(expand_sets(p)), render_iptables(p));
}

}  // namespace
}  // namespace meshcap
