#include "meshcap/lower_iptables.hpp"
#include "support/configs.hpp"
#include "support/plans.hpp"

#include <gtest/gtest.h>

#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"

namespace meshcap {
namespace {

using test::cidr;
using test::everything_on;

Plan one_rule(std::vector<Match> matches, Action action = ReturnAction{}, Family family = Family::V4) {
  Plan p;
  Table t{family, {}};
  t.chains.push_back(
      Chain{"output", ChainKind::Nat, Hook::Output, {Rule{std::move(matches), std::move(action), "why"}}});
  p.tables.push_back(std::move(t));
  return p;
}

const std::vector<IptRule>& rules(const IptRuleset& r) { return r.tables.at(0).chains.at(0).rules; }

// True when every match is a plain comparison holding one value.
bool single_valued(const IptRuleset& lowered) {
  for (const auto& t : lowered.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        for (const auto& m : r.matches) {
          bool ok = std::visit(
              [](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, ProtoMatch> || std::is_same_v<T, CtStateMatch>) {
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

TEST(LowerIptables, PlainRulesKeepTheirMatches) {
  auto got = rules(lower_iptables(one_rule({OifMatch{{"lo"}, ""}, OwnerMatch{false, {1337}, ""}})));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].matches, (std::vector<Match>{OifMatch{{"lo"}, ""}, OwnerMatch{false, {1337}, ""}}));
  EXPECT_FALSE(got[0].new_only);
  EXPECT_EQ(got[0].note, "why");
}

TEST(LowerIptables, OneRulePerElementKeepingActionAndNote) {
  Plan p = one_rule({PortMatch{Proto::Tcp, false, {{80, 80}, {8000, 8100}}, "ports"}}, RedirectAction{15001});
  auto got = rules(lower_iptables(p));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].matches, (std::vector<Match>{PortMatch{Proto::Tcp, false, {{80, 80}}, ""}}));
  EXPECT_EQ(got[1].matches, (std::vector<Match>{PortMatch{Proto::Tcp, false, {{8000, 8100}}, ""}}))
      << "a range is one value";
  for (const auto& r : got) EXPECT_EQ(r.action, Action{RedirectAction{15001}});
  EXPECT_EQ(got[0].note, "why");
  EXPECT_EQ(got[1].note, "") << "the group's reason is printed once";
}

TEST(LowerIptables, SeveralSetsGiveTheCrossProductInRuleOrder) {
  Plan p = one_rule(
      {IifMatch{{"eth0", "eth1"}, "ifs"}, AddrMatch{false, {cidr("10.0.0.0/8"), cidr("192.168.1.1")}, "dst"}},
      JumpAction{"inbound"});
  auto got = rules(lower_iptables(p));
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
  for (const auto& r : got) EXPECT_EQ(r.action, Action{JumpAction{"MESHCAP_INBOUND"}}) << "iptables names";
}

// A chain of 10,000 copies is allocated once at its size, in the lowering
// and in the held form the read-back is compared with: grown by doubling it
// peaked at three times its size (the --ipset off apply's peak memory).
TEST(LowerIptables, ExpandedChainsAreAllocatedAtTheirSize) {
  std::vector<Cidr> hosts;
  for (int i = 0; i < 10000; ++i)
    hosts.push_back(cidr(("11." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1").c_str()));
  Plan p = one_rule({IifMatch{{"eth0", "eth1"}, "ifs"}, AddrMatch{false, hosts, "dst"}});
  IptRuleset lowered = lower_iptables(p);
  EXPECT_EQ(rules(lowered).size(), 20000u);
  EXPECT_EQ(rules(lowered).capacity(), rules(lowered).size());
  Plan held = iptables_held_form(p);
  const auto& held_rules = held.tables.at(0).chains.at(0).rules;
  EXPECT_EQ(held_rules.size(), 20000u);
  EXPECT_EQ(held_rules.capacity(), held_rules.size());
}

TEST(LowerIptables, MatchesTakeIptablesEntryOrder) {
  Plan p = one_rule({OwnerMatch{true, {42}, ""}, PortMatch{Proto::Udp, false, {{53, 53}}, ""},
                     OifMatch{{"lo"}, ""}, AddrMatch{false, {cidr("10.0.0.1")}, ""},
                     AddrMatch{true, {cidr("127.0.0.6")}, ""}});
  auto got = rules(lower_iptables(p));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].matches,
            (std::vector<Match>{AddrMatch{true, {cidr("127.0.0.6")}, ""},
                                AddrMatch{false, {cidr("10.0.0.1")}, ""}, OifMatch{{"lo"}, ""},
                                OwnerMatch{true, {42}, ""}, PortMatch{Proto::Udp, false, {{53, 53}}, ""}}))
      << "extensions keep plan order (owner before udp here)";
}

TEST(LowerIptables, AnEmptySetMatchesNothing) {
  EXPECT_TRUE(rules(lower_iptables(one_rule({OwnerMatch{false, {}, "none"}}))).empty());
}

// The kernel stores a zero mask as "any" and gives back no address: the
// lowering leaves a /0 out, so what is programmed and what is read back agree.
TEST(LowerIptables, AWholeFamilyAddressIsNoMatch) {
  for (const char* any : {"0.0.0.0/0", "::/0"}) {
    Family f = cidr(any).family;
    Plan p = one_rule({AddrMatch{false, {cidr(any)}, ""}, ProtoMatch{Proto::Tcp}}, RedirectAction{15001}, f);
    auto got = rules(lower_iptables(p));
    ASSERT_EQ(got.size(), 1u) << any;
    EXPECT_EQ(got[0].matches, (std::vector<Match>{ProtoMatch{Proto::Tcp}})) << any;
    // Inside a set with other elements, only the /0 copy loses its match.
    Cidr other = cidr(f == Family::V4 ? "10.0.0.1" : "fd00::1");
    Plan s = one_rule({AddrMatch{true, {cidr(any), other}, "src"}}, {}, f);
    auto two = rules(lower_iptables(s));
    ASSERT_EQ(two.size(), 2u) << any;
    EXPECT_TRUE(two[0].matches.empty()) << any;
    EXPECT_EQ(two[1].matches.size(), 1u) << any;
  }
}

TEST(LowerIptables, TproxyRulesTakeTheNewConnectionGuard) {
  Config c;
  c.inbound_mode = InboundMode::Tproxy;
  c.ipv6 = Ipv6Mode::On;
  size_t tproxy = 0;
  for (const auto& t : lower_iptables(make_plan(c)).tables)
    for (const auto& ch : t.chains)
      for (const auto& r : ch.rules) {
        bool is_tproxy = std::holds_alternative<TproxyAction>(r.action);
        EXPECT_EQ(r.new_only, is_tproxy) << ch.name;
        tproxy += is_tproxy;
      }
  EXPECT_GT(tproxy, 0u);
}

TEST(LowerIptables, TablesChainsAndJumps) {
  Config c = everything_on();
  c.inbound_mode = InboundMode::Tproxy;
  auto lowered = lower_iptables(make_plan(c));
  std::vector<std::string> got;
  for (const auto& t : lowered.tables) {
    std::string line = std::string(family_name(t.family)) + " " + chain_kind_name(t.kind) + ":";
    for (const auto& ch : t.chains) line += " " + ch.name;
    for (const auto& j : t.jumps) line += " " + j.builtin + "->" + j.chain;
    got.push_back(line);
  }
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0].substr(got[0].find(' ') + 1),
            "nat: MESHCAP_PREROUTING MESHCAP_OUTPUT MESHCAP_INBOUND PREROUTING->MESHCAP_PREROUTING "
            "OUTPUT->MESHCAP_OUTPUT");
  EXPECT_EQ(got[1].substr(got[1].find(' ') + 1),
            "mangle: MESHCAP_INBOUND_TPROXY PREROUTING->MESHCAP_INBOUND_TPROXY");
  EXPECT_EQ(got[2].substr(got[2].find(' ') + 1),
            "raw: MESHCAP_RAW_OUTPUT MESHCAP_RAW_PREROUTING OUTPUT->MESHCAP_RAW_OUTPUT "
            "PREROUTING->MESHCAP_RAW_PREROUTING");
  EXPECT_EQ(lowered.tables[0].family, Family::V4);
  EXPECT_EQ(lowered.tables[3].family, Family::V6);
}

// The contract of ownership: the exact chain names, the jump comment.
TEST(LowerIptables, OwnedChainNamesAreExact) {
  EXPECT_EQ(iptables_owned_chains(),
            (std::vector<std::string>{"MESHCAP_PREROUTING", "MESHCAP_OUTPUT", "MESHCAP_DROP_INVALID", "MESHCAP_INBOUND_TPROXY",
                                      "MESHCAP_RAW_OUTPUT", "MESHCAP_RAW_PREROUTING", "MESHCAP_INBOUND",
                                      "MESHCAP_TPROXY"}));
  EXPECT_FALSE(iptables_owned_chain("MESHCAP_CUSTOM"));
  EXPECT_FALSE(iptables_owned_chain("MESHCAP_"));
  EXPECT_FALSE(iptables_owned_chain("meshcap_output"));
  EXPECT_EQ(plan_chain_name("MESHCAP_INBOUND_TPROXY"), "inbound_tproxy");
  EXPECT_EQ(plan_chain_name("MESHCAP_CUSTOM"), std::nullopt);
  EXPECT_STREQ(kIptablesJumpComment, "meshcap");
  // Every chain the planner makes has an owned name.
  Config c = everything_on();
  for (bool tproxy : {false, true}) {
    c.inbound_mode = tproxy ? InboundMode::Tproxy : InboundMode::Redirect;
    for (const auto& t : make_plan(c).tables)
      for (const auto& ch : t.chains)
        EXPECT_TRUE(iptables_owned_chain(iptables_chain_name(ch.name))) << ch.name;
  }
}

TEST(LowerIptables, PlannerPlansBecomeSingleValuedAndLiftBack) {
  for (bool tproxy : {false, true}) {
    Config c = everything_on();
    if (tproxy) c.inbound_mode = InboundMode::Tproxy;
    Plan plan = make_plan(c);
    auto lowered = lower_iptables(plan);
    EXPECT_TRUE(single_valued(lowered));
    auto lifted = lift_iptables(lowered);
    ASSERT_TRUE(lifted) << lifted.error().message;
    EXPECT_EQ(lower_iptables(*lifted), lowered) << "lowering the lifted plan changes nothing";
    Plan held = iptables_held_form(plan);
    EXPECT_EQ(held.policy_rules, plan.policy_rules);
    EXPECT_EQ(held.local_routes, plan.local_routes);
    EXPECT_EQ(held.lo_addresses, plan.lo_addresses);
    EXPECT_EQ(held.tables, lifted->tables);
    // Same chains as the plan, in the planner's order here.
    ASSERT_EQ(held.tables.size(), plan.tables.size());
    for (size_t i = 0; i < plan.tables.size(); ++i) {
      ASSERT_EQ(held.tables[i].chains.size(), plan.tables[i].chains.size());
      for (size_t j = 0; j < plan.tables[i].chains.size(); ++j) {
        EXPECT_EQ(held.tables[i].chains[j].name, plan.tables[i].chains[j].name);
        EXPECT_EQ(held.tables[i].chains[j].kind, plan.tables[i].chains[j].kind);
        EXPECT_EQ(held.tables[i].chains[j].hook, plan.tables[i].chains[j].hook);
      }
    }
  }
}

// iptables_held_form makes the held form in one step; it must be exactly the
// lowered plan lifted back, notes included, also for hand-made plans (chain
// names in upper case, one name twice, a /0 first in a set, a cross product).
TEST(LowerIptables, HeldFormIsTheLoweredPlanLiftedBack) {
  auto notes = [](const Plan& p) {
    std::vector<std::string> out;
    for (const auto& t : p.tables)
      for (const auto& c : t.chains)
        for (const auto& r : c.rules) out.push_back(r.note);
    return out;
  };
  std::vector<Plan> plans;
  for (bool tproxy : {false, true}) {
    Config c = everything_on();
    if (tproxy) c.inbound_mode = InboundMode::Tproxy;
    c.drop_invalid = tproxy;
    plans.push_back(make_plan(c));
  }
  plans.push_back(one_rule({AddrMatch{true, {cidr("0.0.0.0/0"), cidr("10.0.0.1")}, "src"},
                            OwnerMatch{false, {1, 2, 3}, "uids"}, IifMatch{{"a", "b"}, "ifs"}},
                           JumpAction{"INBOUND"}));
  {
    Plan p = one_rule({ProtoMatch{Proto::Tcp}}, RedirectAction{15001});
    p.tables[0].chains[0].name = "Output";
    p.tables[0].chains.push_back(Chain{"inbound", ChainKind::Nat, std::nullopt, {Rule{{}, ReturnAction{}, "n"}}});
    plans.push_back(p);
    p.tables[0].chains.push_back(Chain{"INBOUND", ChainKind::Nat, Hook::Prerouting, {}});
    plans.push_back(p);  // one name twice: the second's jump serves both
  }
  for (const auto& plan : plans)
    for (bool sets : {false, true}) {
      auto lifted = lift_iptables(lower_iptables(plan, IptOptions{sets}));
      ASSERT_TRUE(lifted) << lifted.error().message;
      Plan held = iptables_held_form(plan, IptOptions{sets});
      EXPECT_EQ(held.tables, lifted->tables);
      EXPECT_EQ(notes(held), notes(*lifted));
    }
}

TEST(LowerIptables, LiftRefusesWhatLoweringNeverMakes) {
  Config c;
  c.inbound_mode = InboundMode::Tproxy;
  auto base = lower_iptables(make_plan(c));
  auto expect_refused = [](IptRuleset r, const std::string& what) {
    auto got = lift_iptables(r);
    ASSERT_FALSE(got) << what;
    EXPECT_EQ(got.error().kind, ErrorKind::Verify);
    EXPECT_NE(got.error().message.find(what), std::string::npos) << got.error().message;
  };
  auto& mangle = base.tables.at(1);
  ASSERT_EQ(mangle.kind, ChainKind::Mangle);
  {
    auto r = base;
    r.tables[1].chains[0].rules.back().new_only = false;
    expect_refused(r, "TPROXY without -m state --state NEW");
  }
  {
    auto r = base;
    r.tables[0].chains[0].rules[0].new_only = true;
    expect_refused(r, "not TPROXY");
  }
  {
    auto r = base;
    r.tables[0].jumps.push_back(r.tables[0].jumps[0]);
    expect_refused(r, "a second jump to " + r.tables[0].jumps[0].chain);
  }
  {
    auto r = base;
    r.tables[0].jumps[0].builtin = "INPUT";
    expect_refused(r, "from INPUT");
  }
  {
    auto r = base;
    r.tables[0].chains[0].name = "MESHCAP_CUSTOM";
    expect_refused(r, "MESHCAP_CUSTOM");
  }
}

// Linear expansion: 10,000 excluded hosts become 10,000 single-valued rules
// (each holding one address, not a copy of the list), in the list's order.
TEST(LowerIptables, TenThousandExcludedHosts) {
  Config c;
  c.ipv6 = Ipv6Mode::Off;
  c.exclude_outbound_cidrs = test::host_addresses(10000);
  Plan plan = make_plan(c);
  size_t plan_rules = 0;
  for (const auto& ch : plan.tables.at(0).chains) plan_rules += ch.rules.size();
  auto lowered = lower_iptables(plan);
  ASSERT_EQ(lowered.tables.size(), 1u);
  const IptChain* out = nullptr;
  size_t rules_total = 0;
  for (const auto& ch : lowered.tables[0].chains) {
    rules_total += ch.rules.size();
    if (ch.name == "MESHCAP_OUTPUT") out = &ch;
  }
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(rules_total, plan_rules - 1 + 10000) << "the set's rule became one rule per host";
  size_t hosts = 0;
  for (const auto& r : out->rules)
    for (const auto& m : r.matches)
      if (const auto* a = std::get_if<AddrMatch>(&m); a && !a->source && a->cidrs[0].addr[0] == 9) {
        ASSERT_EQ(a->cidrs.size(), 1u);
        EXPECT_EQ(a->cidrs.capacity(), 1u) << "a copy holds its own value only";
        EXPECT_EQ(a->cidrs[0], c.exclude_outbound_cidrs[hosts]);
        EXPECT_EQ(r.action, Action{ReturnAction{}});
        ++hosts;
      }
  EXPECT_EQ(hosts, 10000u);
  EXPECT_TRUE(single_valued(lowered));
}

// Rendering lowers too: rendering a plan whose only sets were port sets gives
// the same text as rendering its held form.
TEST(LowerIptables, RendersLikeItsHeldForm) {
  Config c = everything_on();
  Plan p = make_plan(c);
  EXPECT_EQ(render_iptables(iptables_held_form(p)), render_iptables(p));
}

}  // namespace
}  // namespace meshcap
