// The iptables lowering with ipsets: which lists become one `-m set` rule,
// their names, and that the held form and the dry run agree with it.
#include <gtest/gtest.h>

#include <set>

#include "meshcap/config.hpp"
#include "meshcap/lower_iptables.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"
#include "support/configs.hpp"

namespace meshcap {
namespace {

constexpr IptOptions kSets{true};

// n disjoint /24s (not adjacent, so merging keeps n of them).
std::vector<Cidr> nets(size_t n, Family f = Family::V4) {
  std::vector<Cidr> out;
  for (size_t i = 0; i < n; ++i) {
    std::string text = f == Family::V4
                           ? "10." + std::to_string(i / 128) + "." + std::to_string(2 * (i % 128)) + ".0/24"
                           : "fd00:" + std::to_string(2 * i) + "::/32";
    out.push_back(*Cidr::parse(text));
  }
  return out;
}

// n disjoint ranges of 3 ports, with a gap between them.
std::vector<PortRange> ranges(size_t n) {
  std::vector<PortRange> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back({static_cast<uint16_t>(20000 + 10 * i), static_cast<uint16_t>(20002 + 10 * i)});
  return out;
}

Config with_lists(std::vector<Cidr> cidrs, std::vector<PortRange> ports) {
  Config c;
  c.ipv6 = Ipv6Mode::Off;
  c.exclude_outbound_cidrs = std::move(cidrs);
  c.exclude_outbound_ports = std::move(ports);
  return c;
}

size_t rule_count(const IptRuleset& r) {
  size_t n = 0;
  for (const auto& t : r.tables)
    for (const auto& c : t.chains) n += c.rules.size();
  return n;
}

std::vector<std::string> set_names(const IptRuleset& r) {
  std::vector<std::string> out;
  for (const auto& s : iptables_sets(r)) out.push_back(s.name);
  return out;
}

TEST(LowerIpset, AtTheThresholdListsStayExpanded) {
  Plan plan = make_plan(with_lists(nets(kIpsetThreshold), ranges(kIpsetThreshold)));
  auto with = lower_iptables(plan, kSets);
  EXPECT_EQ(with, lower_iptables(plan)) << "64 elements: exactly the expanded rules";
  EXPECT_TRUE(iptables_sets(with).empty());
}

TEST(LowerIpset, AboveTheThresholdAListIsOneSetRule) {
  Plan plan = make_plan(with_lists(nets(kIpsetThreshold + 1), ranges(kIpsetThreshold + 1)));
  auto expanded = lower_iptables(plan);
  auto with = lower_iptables(plan, kSets);
  EXPECT_EQ(rule_count(expanded) - rule_count(with), 2 * kIpsetThreshold);
  EXPECT_EQ(set_names(with), (std::vector<std::string>{"meshcap4-x_out_ports", "meshcap4-x_out_cidrs"}));
  auto sets = iptables_sets(with);
  const auto& addrs = std::get<AddrMatch>(sets[1].match);
  EXPECT_EQ(addrs.cidrs.size(), kIpsetThreshold + 1);
  EXPECT_TRUE(std::is_sorted(addrs.cidrs.begin(), addrs.cidrs.end()));
  EXPECT_FALSE(addrs.source);
  const auto& ports = std::get<PortMatch>(sets[0].match);
  EXPECT_EQ(ports.proto, Proto::Tcp);
  EXPECT_EQ(ports.ports.size(), kIpsetThreshold + 1);
  // The -m set match sits with the extensions, after -p.
  std::string text = render_iptables(plan, std::nullopt, true);
  EXPECT_NE(text.find("-A MESHCAP_OUTPUT -p tcp -m set --match-set meshcap4-x_out_ports dst -j RETURN\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("-A MESHCAP_OUTPUT -m set --match-set meshcap4-x_out_cidrs dst -j RETURN\n"),
            std::string::npos);
  EXPECT_EQ(text.find("-d 10.0.0.0/24"), std::string::npos);
}

TEST(LowerIpset, OnlyALongListIsACandidate) {
  EXPECT_FALSE(ipset_candidates(make_plan(Config{})));
  EXPECT_FALSE(ipset_candidates(make_plan(test::everything_on())));
  EXPECT_FALSE(ipset_candidates(make_plan(with_lists(nets(kIpsetThreshold), ranges(kIpsetThreshold)))));
  EXPECT_TRUE(ipset_candidates(make_plan(with_lists(nets(kIpsetThreshold + 1), {}))));
  EXPECT_TRUE(ipset_candidates(make_plan(with_lists({}, ranges(kIpsetThreshold + 1)))));
}

TEST(LowerIpset, AdjacentPortRangesMergeBeforeTheyAreCounted) {
  // 100 ranges that touch each other are one range: no set.
  std::vector<PortRange> touching;
  for (uint16_t i = 0; i < 100; ++i)
    touching.push_back({static_cast<uint16_t>(1000 + 2 * i), static_cast<uint16_t>(1001 + 2 * i)});
  Plan plan = make_plan(with_lists({}, touching));
  EXPECT_TRUE(iptables_sets(lower_iptables(plan, kSets)).empty());
}

TEST(LowerIpset, AWholeFamilyNeverGoesIntoASet) {
  // hash:net holds no /0: the list stays expanded.
  AddrMatch m{false, nets(100), "exclude_outbound_cidrs"};
  m.cidrs.push_back(*Cidr::parse("0.0.0.0/0"));
  Plan p;
  p.tables.push_back(
      Table{Family::V4, {Chain{"output", ChainKind::Nat, Hook::Output, {Rule{{m}, ReturnAction{}, ""}}}}});
  auto lowered = lower_iptables(p, kSets);
  EXPECT_TRUE(iptables_sets(lowered).empty());
  EXPECT_EQ(rule_count(lowered), 101u);
}

TEST(LowerIpset, OwnerAndInterfaceListsStayExpanded) {
  std::vector<uint32_t> ids;
  std::vector<std::string> names;
  for (uint32_t i = 0; i < 100; ++i) {
    ids.push_back(1000 + i);
    names.push_back("veth" + std::to_string(i));
  }
  Plan p;
  p.tables.push_back(Table{Family::V4,
                           {Chain{"output",
                                  ChainKind::Nat,
                                  Hook::Output,
                                  {Rule{{OwnerMatch{false, ids, "uids"}}, ReturnAction{}, ""},
                                   Rule{{OifMatch{names, "ifs"}}, ReturnAction{}, ""}}}}});
  auto lowered = lower_iptables(p, kSets);
  EXPECT_TRUE(iptables_sets(lowered).empty());
  EXPECT_EQ(rule_count(lowered), 200u);
}

TEST(LowerIpset, LiftingAndLoweringAgainChangesNothing) {
  Config c = with_lists(nets(300), ranges(200));
  c.ipv6 = Ipv6Mode::On;
  c.exclude_outbound_cidrs = nets(300);
  auto v6 = nets(100, Family::V6);
  c.exclude_outbound_cidrs.insert(c.exclude_outbound_cidrs.end(), v6.begin(), v6.end());
  c.exclude_inbound_sources = nets(70);
  Plan plan = make_plan(c);
  auto lowered = lower_iptables(plan, kSets);
  auto names = set_names(lowered);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
            (std::set<std::string>{"meshcap4-x_out_ports", "meshcap4-x_out_cidrs", "meshcap4-x_in_sources",
                                   "meshcap6-x_out_ports", "meshcap6-x_out_cidrs"}));
  auto lifted = lift_iptables(lowered);
  ASSERT_TRUE(lifted) << lifted.error().message;
  EXPECT_EQ(lower_iptables(*lifted, kSets), lowered);
  Plan held = iptables_held_form(plan, kSets);
  EXPECT_EQ(held.tables, lifted->tables);
  // Without ipsets the lifted plan expands again, to the rules --ipset off programs.
  EXPECT_EQ(lower_iptables(*lifted), lower_iptables(plan));
}

TEST(LowerIpset, TheDefaultsRenderAsWithoutIpsets) {
  for (Config c : {Config{}, test::everything_on()}) {
    Plan plan = make_plan(c);
    EXPECT_EQ(render_iptables(plan, std::nullopt, true), render_iptables(plan));
    EXPECT_EQ(iptables_held_form(plan, kSets), iptables_held_form(plan));
  }
}

TEST(LowerIpset, NamesFitTheKernelAndAreOwned) {
  std::set<std::string> seen;
  for (const char* set : {"exclude_inbound_sources", "exclude_inbound_ports", "inbound_ports", "self_ports",
                          "exclude_outbound_ports", "include_outbound_ports", "exclude_outbound_cidrs",
                          "outbound_cidrs", "loopback", "dns_servers", "a_very_long_plan_set_name_indeed_one",
                          "a_very_long_plan_set_name_indeed_two"})
    for (Family f : {Family::V4, Family::V6}) {
      std::string name = ipset_name(f, set);
      for (const auto& written : ipset_written_names(name)) {
        EXPECT_LE(written.size(), kIpsetMaxName) << written;
        EXPECT_TRUE(ipset_owned(written));
        EXPECT_EQ(ipset_base_name(written), name);
      }
      EXPECT_EQ(ipset_written_names(name).size(), 3u);
      EXPECT_TRUE(ipset_owned(name)) << name;
      EXPECT_EQ(ipset_base_name(name), name);
      EXPECT_TRUE(seen.insert(name).second) << name << " twice";
    }
  EXPECT_EQ(ipset_name(Family::V4, "exclude_outbound_cidrs"), "meshcap4-x_out_cidrs");
  EXPECT_FALSE(ipset_owned("meshcap-other"));
  EXPECT_FALSE(ipset_owned("kube-meshcap4-x"));
}

TEST(LowerIpset, DryRunSetsLoadWithIpsetRestore) {
  Plan plan = make_plan(with_lists(nets(100), ranges(70)));
  std::string text = render_iptables(plan, std::nullopt, true);
  std::string head =
      "# === ipsets: ipset -exist restore (before the iptables sections) ===\n"
      "create meshcap4-x_out_ports bitmap:port range 0-65535\n"
      "flush meshcap4-x_out_ports\n"
      "add meshcap4-x_out_ports 20000-20002\n";
  EXPECT_EQ(text.substr(0, head.size()), head);
  EXPECT_NE(text.find("create meshcap4-x_out_cidrs hash:net family inet hashsize 128 maxelem 65536\n"
                      "flush meshcap4-x_out_cidrs\nadd meshcap4-x_out_cidrs 10.0.0.0/24\n"),
            std::string::npos);
  EXPECT_NE(text.find("\n\n# === IPv4: iptables-restore --noflush ===\n"), std::string::npos);
  EXPECT_EQ(render_iptables(plan, std::nullopt, false), render_iptables(plan));
  EXPECT_EQ(render_iptables(plan, Family::V6, true).find("meshcap4-"), std::string::npos);
}

TEST(LowerIpset, HashSizesAreDeclaredForTheCount) {
  EXPECT_EQ(ipset_hashsize(0), 64u);
  EXPECT_EQ(ipset_hashsize(65), 128u);
  EXPECT_EQ(ipset_hashsize(10000), 16384u);
  EXPECT_EQ(ipset_maxelem(1000), 65536u);
  EXPECT_EQ(ipset_maxelem(100000), 100000u);
}

}  // namespace
}  // namespace meshcap
