// Test support: configurations shared by the backend and expansion tests.
#pragma once

#include "meshcap/config.hpp"

namespace meshcap::test {

inline Cidr cidr(const char* text) { return *Cidr::parse(text); }

// Every option at once in redirect mode, for both families: uid and gid
// lists, excluded and virt interfaces, port ranges, v4+v6 CIDRs, DNS with
// resolvers. Lists are already normalised, as parse_config would leave them.
inline Config everything_on() {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  c.proxy_uids = {1337, 1338};
  c.proxy_gids = {1337, 2000};
  c.exclude_interfaces = {"eth9", "veth1"};
  c.virt_interfaces = {"vnet0"};
  c.exclude_inbound_ports = {{15020, 15021}, {15090, 15090}};
  c.exclude_outbound_ports = {{3306, 3306}, {6000, 6100}};
  c.include_outbound_ports = {{8080, 8080}, {9000, 9100}};
  c.exclude_outbound_cidrs = {cidr("10.96.0.1"), cidr("fd00:96::/64")};
  c.outbound_cidrs = {false, {cidr("10.0.0.0/8"), cidr("192.168.0.0/16"), cidr("fd00::/8")}};
  c.capture_dns = true;
  c.dns_servers = {cidr("10.96.0.10"), cidr("fd00:96::a")};
  return c;
}

}  // namespace meshcap::test
