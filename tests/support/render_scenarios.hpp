// Test support: the render scenarios (settings, and one hand-built plan of
// every construct) shared by the golden files (unit) and the kernel-loading
// checks of the same texts (integration).
#pragma once

#include <optional>
#include <ostream>
#include <vector>

#include <gtest/gtest.h>

#include "meshcap/config.hpp"
#include "meshcap/plan.hpp"
#include "meshcap/planner.hpp"
#include "support/configs.hpp"
#include "support/plans.hpp"

namespace meshcap::test {

struct Scenario {
  const char* name;
  Config config;
  std::optional<Plan> plan = std::nullopt;  // hand-built instead of make_plan(config)
};

inline Plan plan_of(const Scenario& s) { return s.plan ? *s.plan : make_plan(s.config); }

// gtest prints a parameter on failure; the name says it all.
inline void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

inline std::vector<Scenario> scenarios() {
  std::vector<Scenario> out;
  Config base;
  base.ipv6 = Ipv6Mode::On;
  out.push_back({"default", base});

  Config all = base;
  all.virt_interfaces = {"vnet0"};
  all.exclude_interfaces = {"eth9", "veth1"};
  all.proxy_uids = {1337, 1338};
  all.proxy_gids = {1337, 2000};
  all.exclude_inbound_ports = {{15020, 15021}, {15090, 15090}};
  all.outbound_cidrs = {false, {cidr("10.0.0.0/8"), cidr("192.168.0.0/16"), cidr("fd00::/8")}};
  all.exclude_outbound_cidrs = {cidr("10.96.0.1"), cidr("fd00:96::/64")};
  all.exclude_outbound_ports = {{3306, 3306}, {5432, 5432}, {6000, 6100}};
  for (uint16_t p = 7000; p < 7012; ++p) all.exclude_outbound_ports.push_back({p, p});
  all.include_outbound_ports = {{8080, 8080}, {9000, 9100}};
  all.capture_dns = true;
  all.dns_servers = {cidr("10.96.0.10"), cidr("fd00:96::a")};
  out.push_back({"all_options", all});

  Config tproxy = base;
  tproxy.inbound_mode = InboundMode::Tproxy;
  tproxy.exclude_inbound_ports = {{15020, 15021}};
  out.push_back({"tproxy", tproxy});

  Config v4only = base;
  v4only.ipv6 = Ipv6Mode::Off;
  out.push_back({"ipv6_off", v4only});

  Config listed = base;
  listed.inbound_ports = {false, {{80, 80}, {8080, 8080}, {9000, 9100}}};
  out.push_back({"inbound_ports_list", listed});

  Config no_inbound = base;
  no_inbound.inbound_ports = {false, {}};
  out.push_back({"no_inbound", no_inbound});

  Config dns = base;
  dns.capture_dns = true;
  out.push_back({"dns_all_servers", dns});

  // INVALID packets dropped in a mangle chain, ahead of the tproxy chain.
  Config drop = tproxy;
  drop.drop_invalid = true;
  out.push_back({"drop_invalid_tproxy", drop});

  // Istio's narrower loopback, Linkerd's source exclusions and lo left alone.
  Config dialect = base;
  dialect.drop_invalid = true;
  dialect.loopback_cidrs = {*Cidr::parse("127.0.0.1/32"), *Cidr::parse("::1/128")};
  dialect.exclude_inbound_sources = {*Cidr::parse("10.9.0.0/16"), *Cidr::parse("192.168.7.7/32"),
                                     *Cidr::parse("fd00:9::/64")};
  dialect.lo_passthrough = true;
  out.push_back({"dialect_knobs", dialect});

  out.push_back({"every_construct", base, every_construct()});
  return out;
}

inline std::string scenario_name(const ::testing::TestParamInfo<Scenario>& info) {
  return info.param.name;
}

}  // namespace meshcap::test
