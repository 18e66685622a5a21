// Test support: hand-built plans and large configurations, shared by the
// renderers' golden files, the nft encoder's kernel-free round trip (unit)
// and the backend tests (integration).
#pragma once

#include <string>

#include "meshcap/config.hpp"
#include "meshcap/plan.hpp"
#include "support/configs.hpp"

namespace meshcap::test {

// Every match and action in every form, hand-built so it does not depend on
// what the planner emits today: single values and sets, interval sets (port
// ranges, prefixes, 0.0.0.0/8) and hash sets, source and destination ports and
// addresses, single owners and owner sets, more than 16 elements, two sets in
// one rule (a cross product in iptables), every action, routing state. Every
// rule is one iptables accepts in its hook (no owner match where PREROUTING
// reaches), so each renderer's text also loads in the kernel.
inline Plan every_construct() {
  Plan plan;
  for (Family f : {Family::V4, Family::V6}) {
    bool v4 = f == Family::V4;
    Chain pre{"prerouting", ChainKind::Nat, Hook::Prerouting, {}};
    pre.rules.push_back({{IifMatch{{"lo"}, ""}}, ReturnAction{}, "lo"});
    pre.rules.push_back({{IifMatch{{"eth1", "veth0"}, "ifs"}}, ReturnAction{}, ""});
    pre.rules.push_back({{ProtoMatch{Proto::Tcp}}, JumpAction{"inbound"}, ""});
    Chain out{"output", ChainKind::Nat, Hook::Output, {}};
    out.rules.push_back({{OifMatch{{"eth1", "eth2"}, "out_ifs"}}, ReturnAction{}, "oif set"});
    out.rules.push_back({{PortMatch{Proto::Udp, true, {{5353, 5353}}, ""}}, ReturnAction{}, ""});
    out.rules.push_back(
        {{PortMatch{Proto::Tcp, true, {{1000, 2000}, {3000, 3000}}, "sports"}}, ReturnAction{}, ""});
    out.rules.push_back({{PortMatch{Proto::Tcp, false, {{53, 53}}, ""}}, ReturnAction{}, ""});
    out.rules.push_back({{PortMatch{Proto::Tcp, false, {{53, 53}, {8000, 8100}, {65000, 65535}}, "ports"}},
                         ReturnAction{},
                         ""});
    if (v4) {
      out.rules.push_back({{AddrMatch{false, {cidr("127.0.0.6")}, ""}}, ReturnAction{}, ""});
      out.rules.push_back(
          {{AddrMatch{true, {cidr("10.0.0.0/8"), cidr("192.168.1.1"), cidr("0.0.0.0/8")}, "addrs"}},
           ReturnAction{},
           ""});
    } else {
      out.rules.push_back({{AddrMatch{true, {cidr("::6")}, ""}, OifMatch{{"lo"}, ""}}, ReturnAction{}, ""});
      out.rules.push_back(
          {{AddrMatch{false, {cidr("fd00::/8"), cidr("::1"), cidr("ffff::/16")}, "v6"}}, ReturnAction{}, ""});
    }
    std::vector<Cidr> srcs = v4 ? std::vector{cidr("10.0.0.0/8"), cidr("192.168.1.1")}
                                : std::vector{cidr("fd00::/8"), cidr("2001:db8::1")};
    out.rules.push_back({{AddrMatch{true, srcs, "srcs"}, OwnerMatch{true, {42}, ""}},
                         JumpAction{"inbound"}, "source set and single gid"});
    out.rules.push_back({{OwnerMatch{false, {1337}, ""}}, ReturnAction{}, ""});
    out.rules.push_back({{OwnerMatch{true, {1337, 42}, "gids"}}, ReturnAction{}, ""});
    out.rules.push_back({{OifMatch{{"lo"}, ""}, ProtoMatch{Proto::Tcp}}, RedirectAction{15001}, ""});
    Chain in{"inbound", ChainKind::Nat, std::nullopt, {}};
    std::vector<PortRange> many;
    for (uint16_t p = 100; p < 120; ++p) many.push_back({p, p});
    in.rules.push_back({{IifMatch{{"eth0", "eth3"}, "in_ifs"}, PortMatch{Proto::Tcp, false, many, "many"}},
                        RedirectAction{15006}, "two sets: a cross product in iptables"});
    Chain divert{"divert", ChainKind::Mangle, Hook::Prerouting, {}};
    divert.rules.push_back({{ProtoMatch{Proto::Tcp}}, TproxyAction{15006, 1337}, ""});
    Chain raw{"raw_output", ChainKind::Raw, Hook::Output, {}};
    raw.rules.push_back({{OwnerMatch{false, {1, 2}, "uids"}, PortMatch{Proto::Udp, false, {{53, 53}}, ""}},
                         CtZoneAction{1}, ""});
    plan.tables.push_back({f, {pre, out, divert, raw, in}});
    plan.policy_rules.push_back({f, 1337, 133, 32000});
    plan.local_routes.push_back({f, 133});
  }
  plan.lo_addresses.push_back({cidr("::6")});
  return plan;
}

// 10,000 addresses (hosts and /30s: one interval set) and 1,000 port ranges.
inline Config large_config() {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  for (int i = 0; i < 10000; ++i) {
    Cidr x = cidr("10.0.0.0/30");
    x.addr[1] = static_cast<uint8_t>(i >> 8);
    x.addr[2] = static_cast<uint8_t>(i & 0xff);
    x.prefix = i % 2 ? 30 : 32;
    c.exclude_outbound_cidrs.push_back(x);
  }
  for (int i = 0; i < 1000; ++i) {
    auto first = static_cast<uint16_t>(20000 + i * 10);
    c.exclude_outbound_ports.push_back({first, static_cast<uint16_t>(first + (i % 3))});
  }
  return c;
}

// `count` host addresses 9.x.y.1, the shape that makes a large hash set
// (no interval flag, so the kernel makes it a hash table).
inline std::vector<Cidr> host_addresses(int count) {
  std::vector<Cidr> out;
  for (int i = 0; i < count; ++i) {
    Cidr c = cidr("9.0.0.1");
    c.addr[1] = static_cast<uint8_t>(i >> 8);
    c.addr[2] = static_cast<uint8_t>(i & 0xff);
    out.push_back(c);
  }
  return out;
}

}  // namespace meshcap::test
