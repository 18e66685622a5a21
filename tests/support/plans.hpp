// Test support: plans and configurations for the nft encoder, shared by the
// kernel-free round trip (unit) and the backend tests (integration).
#pragma once

#include <string>

#include "meshcap/config.hpp"
#include "meshcap/plan.hpp"
#include "support/configs.hpp"

namespace meshcap::test {

// Every construct the encoder knows, in plain and set form, hand-built so it
// does not depend on what the planner happens to emit today.
inline Plan every_nft_construct() {
  Table v4{Family::V4, {}};
  Chain pre{"prerouting", ChainKind::Nat, Hook::Prerouting, {}};
  pre.rules.push_back({{IifMatch{{"lo"}, ""}}, ReturnAction{}, "lo"});
  pre.rules.push_back({{IifMatch{{"eth1", "veth0"}, "ifs"}}, ReturnAction{}, ""});
  pre.rules.push_back({{ProtoMatch{Proto::Tcp}}, JumpAction{"inbound"}, ""});
  Chain in{"inbound", ChainKind::Nat, std::nullopt, {}};
  in.rules.push_back({{PortMatch{Proto::Tcp, false, {{53, 53}}, ""}}, ReturnAction{}, ""});
  in.rules.push_back({{PortMatch{Proto::Tcp, false, {{53, 53}, {8000, 8100}, {65000, 65535}}, "ports"}},
                      ReturnAction{},
                      ""});
  in.rules.push_back({{PortMatch{Proto::Udp, true, {{53, 53}}, ""}}, ReturnAction{}, ""});
  in.rules.push_back({{AddrMatch{false, {cidr("127.0.0.6")}, ""}}, ReturnAction{}, ""});
  in.rules.push_back(
      {{AddrMatch{true, {cidr("10.0.0.0/8"), cidr("192.168.1.1"), cidr("0.0.0.0/8")}, "addrs"}},
       ReturnAction{},
       ""});
  in.rules.push_back({{OwnerMatch{false, {1337}, ""}}, ReturnAction{}, ""});
  in.rules.push_back({{OwnerMatch{true, {1337, 42}, "gids"}}, ReturnAction{}, ""});
  in.rules.push_back({{OifMatch{{"lo"}, ""}, ProtoMatch{Proto::Tcp}}, RedirectAction{15001}, ""});
  Chain mangle{"divert", ChainKind::Mangle, Hook::Prerouting, {}};
  mangle.rules.push_back({{ProtoMatch{Proto::Tcp}}, TproxyAction{15006, 1337}, ""});
  Chain raw{"raw_output", ChainKind::Raw, Hook::Output, {}};
  raw.rules.push_back(
      {{OwnerMatch{false, {1337}, ""}, PortMatch{Proto::Udp, false, {{53, 53}}, ""}}, CtZoneAction{1}, ""});
  v4.chains = {pre, in, mangle, raw};

  Table v6{Family::V6, {}};
  Chain out{"output", ChainKind::Nat, Hook::Output, {}};
  out.rules.push_back({{AddrMatch{true, {cidr("::6")}, ""}, OifMatch{{"lo"}, ""}}, ReturnAction{}, ""});
  out.rules.push_back(
      {{AddrMatch{false, {cidr("fd00::/8"), cidr("::1"), cidr("ffff::/16")}, "v6"}}, ReturnAction{}, ""});
  out.rules.push_back({{ProtoMatch{Proto::Tcp}}, RedirectAction{15001}, ""});
  Chain t6{"divert", ChainKind::Mangle, Hook::Prerouting, {}};
  t6.rules.push_back({{ProtoMatch{Proto::Tcp}}, TproxyAction{15006, 1337}, ""});
  v6.chains = {out, t6};
  return Plan{{v4, v6}, {}, {}, {}};
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
