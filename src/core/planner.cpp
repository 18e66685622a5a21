// The capture table (docs/capture.md) as chains. Each rule's note names the
// line of that table it implements.
//
// Ordering argument for the outbound chain: the table lists loopback destinations
// (line 6) after the owner lines, but nothing before line 6 can capture a
// loopback destination (line 3 explicitly excludes it), so returning early for
// loopback is equivalent and lets every later match stay positive (no
// negations, which iptables cannot express for sets). Likewise line 5 (proxy
// owned: return) is placed before line 4 (non-proxy via lo: return): both
// return, and after line 5 only non-proxy traffic is left, so line 4 no
// longer needs "not owned by the proxy".
#include "meshcap/planner.hpp"

#include <algorithm>

namespace meshcap {

namespace {

Rule rule(std::vector<Match> matches, Action action, std::string note) {
  return Rule{std::move(matches), std::move(action), std::move(note)};
}

Match tcp() { return ProtoMatch{Proto::Tcp}; }
Match iif(std::string name) { return IifMatch{{std::move(name)}, ""}; }
Match oif(std::string name) { return OifMatch{{std::move(name)}, ""}; }
Match dport(Proto p, uint16_t port) { return PortMatch{p, false, {{port, port}}, ""}; }
Match sport(Proto p, uint16_t port) { return PortMatch{p, true, {{port, port}}, ""}; }

// A configured list: a named set, unless it is one exact value, which reads
// better as a plain comparison (`meta skuid 1337`).
bool one_exact(const std::vector<std::string>& v) { return v.size() == 1; }
bool one_exact(const std::vector<uint32_t>& v) { return v.size() == 1; }
bool one_exact(const std::vector<PortRange>& v) { return v.size() == 1 && v[0].single(); }
bool one_exact(const std::vector<Cidr>& v) { return v.size() == 1 && v[0].is_host(); }
template <class T>
std::string set_for(const std::vector<T>& values, const char* name) {
  return one_exact(values) ? "" : name;
}

Match dport_set(Proto p, std::vector<PortRange> ports, const char* set) {
  auto name = set_for(ports, set);
  return PortMatch{p, false, std::move(ports), std::move(name)};
}
Match iif_set(const std::vector<std::string>& names, const char* set) {
  return IifMatch{names, set_for(names, set)};
}
Match oif_set(const std::vector<std::string>& names, const char* set) {
  return OifMatch{names, set_for(names, set)};
}
Match addr_set(bool source, const std::vector<Cidr>& cidrs, const char* set) {
  return AddrMatch{source, cidrs, set_for(cidrs, set)};
}

std::vector<Cidr> of_family(const std::vector<Cidr>& cidrs, Family f) {
  std::vector<Cidr> out;
  std::copy_if(cidrs.begin(), cidrs.end(), std::back_inserter(out),
               [f](const Cidr& c) { return c.family == f; });
  return out;
}

class FamilyPlanner {
 public:
  FamilyPlanner(const Config& c, Family f) : c_(c), f_(f) {}

  Table build() {
    Table t{f_, {}};
    bool inbound = !c_.inbound_ports.empty();
    if (auto pre = prerouting(); !pre.rules.empty()) t.chains.push_back(std::move(pre));
    t.chains.push_back(output());
    if (c_.drop_invalid) t.chains.push_back(drop_invalid());
    if (c_.inbound_mode == InboundMode::Tproxy && inbound) t.chains.push_back(tproxy());
    if (dns_captured()) {
      t.chains.push_back(raw_output());
      t.chains.push_back(raw_prerouting());
    }
    if (inbound) t.chains.push_back(inbound_chain());
    return t;
  }

 private:
  const Config& c_;
  Family f_;

  bool v4() const { return f_ == Family::V4; }
  std::vector<Cidr> dns_servers() const { return of_family(c_.dns_servers, f_); }
  // Resolvers given, none of this family: this family's DNS is not captured.
  bool dns_captured() const {
    return c_.capture_dns && (c_.dns_servers.empty() || !dns_servers().empty());
  }
  Match uids() const { return OwnerMatch{false, c_.proxy_uids, set_for(c_.proxy_uids, "proxy_uids")}; }
  Match gids() const { return OwnerMatch{true, c_.proxy_gids, set_for(c_.proxy_gids, "proxy_gids")}; }

  // One rule per owner list that is set: uid and gid are alternatives.
  void per_owner(std::vector<Rule>& rules, const std::vector<Match>& matches, const Action& action,
                 const std::string& note) const {
    if (!c_.proxy_uids.empty()) {
      auto m = matches;
      m.push_back(uids());
      rules.push_back(rule(std::move(m), action, note + " (proxy uid)"));
    }
    if (!c_.proxy_gids.empty()) {
      auto m = matches;
      m.push_back(gids());
      rules.push_back(rule(std::move(m), action, note + " (proxy gid)"));
    }
  }

  // Inbound means arriving from outside the pod on an interface not excluded.
  void inbound_entry(std::vector<Rule>& r) const {
    r.push_back(rule({iif("lo")}, ReturnAction{}, "inbound: only traffic arriving from outside the pod"));
    if (!c_.exclude_interfaces.empty())
      r.push_back(rule({iif_set(c_.exclude_interfaces, "exclude_interfaces")}, ReturnAction{},
                       "inbound 1: excluded interface"));
    if (auto sources = of_family(c_.exclude_inbound_sources, f_); !sources.empty())
      r.push_back(rule({addr_set(true, sources, "exclude_inbound_sources")}, ReturnAction{},
                       "inbound 1: excluded source"));
  }

  // Conntrack judges a packet before any NAT chain, and a packet it places in
  // no connection never reaches one; so the drop sits in a mangle (filter
  // type) chain, ahead of the tproxy chain of the same hook.
  Chain drop_invalid() const {
    Chain ch{"drop_invalid", ChainKind::Mangle, Hook::Prerouting, {}};
    ch.rules.push_back(rule({iif("lo")}, ReturnAction{}, "inbound: only traffic arriving from outside the pod"));
    ch.rules.push_back(rule({CtStateMatch{CtState::Invalid}}, DropAction{},
                            "drop-invalid: conntrack marks the packet INVALID"));
    return ch;
  }

  Chain prerouting() const {
    Chain ch{"prerouting", ChainKind::Nat, Hook::Prerouting, {}};
    bool redirect_inbound = c_.inbound_mode == InboundMode::Redirect && !c_.inbound_ports.empty();
    if (c_.virt_interfaces.empty() && !redirect_inbound) return ch;
    auto& r = ch.rules;
    inbound_entry(r);
    if (!c_.virt_interfaces.empty())
      r.push_back(rule({iif_set(c_.virt_interfaces, "virt_interfaces"), tcp()},
                       RedirectAction{c_.outbound_port},
                       "inbound 2: virt interface, treated as outbound"));
    if (redirect_inbound)
      r.push_back(rule({tcp()}, JumpAction{"inbound"}, "inbound 3-4: inbound TCP"));
    return ch;
  }

  // Shared by inbound redirect (prerouting) and the proxy calling its own pod
  // (outbound line 3): "destination port would be captured inbound".
  Chain inbound_chain() const {
    Chain ch{"inbound", ChainKind::Nat, std::nullopt, {}};
    if (!c_.exclude_inbound_ports.empty())
      ch.rules.push_back(rule({dport_set(Proto::Tcp, c_.exclude_inbound_ports, "exclude_inbound_ports")},
                              ReturnAction{}, "inbound 3: excluded inbound port"));
    if (c_.inbound_ports.all)
      ch.rules.push_back(rule({tcp()}, RedirectAction{c_.inbound_port}, "inbound 4: every port"));
    else
      ch.rules.push_back(rule({dport_set(Proto::Tcp, c_.inbound_ports.items, "inbound_ports")},
                              RedirectAction{c_.inbound_port}, "inbound 4: listed ports"));
    return ch;
  }

  Chain tproxy() const {
    Chain ch{"inbound_tproxy", ChainKind::Mangle, Hook::Prerouting, {}};
    auto& r = ch.rules;
    inbound_entry(r);
    if (!c_.virt_interfaces.empty())
      r.push_back(rule({iif_set(c_.virt_interfaces, "virt_interfaces")}, ReturnAction{},
                       "inbound 2: virt interface, redirected in prerouting"));
    if (!c_.exclude_inbound_ports.empty())
      r.push_back(rule({dport_set(Proto::Tcp, c_.exclude_inbound_ports, "exclude_inbound_ports")},
                       ReturnAction{}, "inbound 3: excluded inbound port"));
    TproxyAction to_proxy{c_.inbound_port, c_.tproxy_mark};
    if (c_.inbound_ports.all)
      r.push_back(rule({tcp()}, to_proxy, "inbound 4: every port, tproxy"));
    else
      r.push_back(rule({dport_set(Proto::Tcp, c_.inbound_ports.items, "inbound_ports")}, to_proxy,
                       "inbound 4: listed ports, tproxy"));
    return ch;
  }

  // Outbound line 3. By default its ports are those inbound lines 3-4
  // capture, so it shares their chain; --self-ports names them itself.
  void self_calls(std::vector<Rule>& r) const {
    const std::string note = "outbound 3: proxy calling its own pod";
    if (!c_.self_ports) {
      if (!c_.inbound_ports.empty())
        per_owner(r, {oif("lo"), tcp()}, JumpAction{"inbound"}, note + " on an inbound-captured port");
    } else if (c_.self_ports->all) {
      per_owner(r, {oif("lo"), tcp()}, RedirectAction{c_.inbound_port}, note + ", every port");
    } else if (!c_.self_ports->items.empty()) {
      per_owner(r, {oif("lo"), dport_set(Proto::Tcp, c_.self_ports->items, "self_ports")},
                RedirectAction{c_.inbound_port}, note + " on a --self-ports port");
    }
  }

  Chain output() const {
    Chain ch{"output", ChainKind::Nat, Hook::Output, {}};
    auto& r = ch.rules;
    if (!c_.exclude_interfaces.empty())
      r.push_back(rule({oif_set(c_.exclude_interfaces, "exclude_interfaces")}, ReturnAction{},
                       "outbound 1: excluded interface"));
    Cidr passthrough = v4() ? Cidr::host(f_, "127.0.0.6") : Cidr::host(f_, "::6");
    r.push_back(rule({oif("lo"), AddrMatch{true, {passthrough}, ""}}, ReturnAction{},
                     "outbound 2: inbound passthrough from the proxy to the app"));
    if (auto loopback = of_family(c_.loopback_cidrs, f_); !loopback.empty())
      r.push_back(rule({addr_set(false, loopback, "loopback")}, ReturnAction{},
                       "outbound 6: loopback destination"));
    if (!c_.lo_passthrough) self_calls(r);
    per_owner(r, {}, ReturnAction{}, "outbound 5: the proxy's own upstream traffic");
    r.push_back(rule({oif("lo")}, ReturnAction{}, "outbound 4: app to local"));
    if (dns_captured()) {
      for (Proto p : {Proto::Udp, Proto::Tcp}) {
        std::vector<Match> m;
        if (auto servers = dns_servers(); !servers.empty())
          m.push_back(addr_set(false, servers, "dns_servers"));
        m.push_back(dport(p, 53));
        r.push_back(rule(std::move(m), RedirectAction{c_.dns_port},
                         p == Proto::Udp ? "outbound 7: DNS over UDP" : "outbound 7: DNS over TCP"));
      }
    }
    if (!c_.exclude_outbound_ports.empty())
      r.push_back(rule({dport_set(Proto::Tcp, c_.exclude_outbound_ports, "exclude_outbound_ports")},
                       ReturnAction{}, "outbound 8: excluded outbound port"));
    if (!c_.include_outbound_ports.empty())
      r.push_back(rule({dport_set(Proto::Tcp, c_.include_outbound_ports, "include_outbound_ports")},
                       RedirectAction{c_.outbound_port}, "outbound 9: included outbound port"));
    if (auto excluded = of_family(c_.exclude_outbound_cidrs, f_); !excluded.empty())
      r.push_back(rule({addr_set(false, excluded, "exclude_outbound_cidrs")}, ReturnAction{},
                       "outbound 10: excluded destination"));
    if (c_.outbound_cidrs.all)
      r.push_back(rule({tcp()}, RedirectAction{c_.outbound_port}, "outbound 11: every destination"));
    else if (auto included = of_family(c_.outbound_cidrs.items, f_); !included.empty())
      r.push_back(rule({addr_set(false, included, "outbound_cidrs"), tcp()},
                       RedirectAction{c_.outbound_port}, "outbound 11: listed destinations"));
    return ch;
  }

  // Conntrack zones keep the app's query (app -> resolver:53, redirected to
  // the proxy) and the proxy's own query (proxy -> resolver:53) apart, so a
  // reused UDP 5-tuple cannot attach to the other flow and bypass the proxy.
  Chain raw_output() const {
    Chain ch{"raw_output", ChainKind::Raw, Hook::Output, {}};
    auto& r = ch.rules;
    per_owner(r, {dport(Proto::Udp, 53)}, CtZoneAction{kZoneProxyUpstream},
              "DNS zones: the proxy's queries to resolvers");
    per_owner(r, {sport(Proto::Udp, c_.dns_port)}, CtZoneAction{kZoneAppQueries},
              "DNS zones: the proxy's answers to apps");
    per_owner(r, {}, ReturnAction{}, "DNS zones: nothing else of the proxy's");
    std::vector<Match> m;
    if (auto servers = dns_servers(); !servers.empty())
      m.push_back(addr_set(false, servers, "dns_servers"));
    m.push_back(dport(Proto::Udp, 53));
    r.push_back(rule(std::move(m), CtZoneAction{kZoneAppQueries}, "DNS zones: apps' queries"));
    return ch;
  }

  Chain raw_prerouting() const {
    Chain ch{"raw_prerouting", ChainKind::Raw, Hook::Prerouting, {}};
    std::vector<Match> m;
    if (auto servers = dns_servers(); !servers.empty())
      m.push_back(addr_set(true, servers, "dns_servers"));
    m.push_back(sport(Proto::Udp, 53));
    ch.rules.push_back(rule(std::move(m), CtZoneAction{kZoneProxyUpstream},
                            "DNS zones: resolvers' replies to the proxy"));
    return ch;
  }
};

}  // namespace

Plan make_plan(const Config& config) {
  Plan plan;
  std::vector<Family> families{Family::V4};
  if (config.ipv6 != Ipv6Mode::Off) families.push_back(Family::V6);
  for (Family f : families) {
    plan.tables.push_back(FamilyPlanner(config, f).build());
    if (config.inbound_mode == InboundMode::Tproxy && !config.inbound_ports.empty()) {
      plan.policy_rules.push_back({f, config.tproxy_mark, config.tproxy_table, kTproxyRulePriority});
      plan.local_routes.push_back({f, config.tproxy_table});
    }
    if (f == Family::V6) plan.lo_addresses.push_back({Cidr::host(Family::V6, "::6")});
  }
  return plan;
}

}  // namespace meshcap
