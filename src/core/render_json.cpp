// Plan -> JSON. Keys are camelCase and, as nlohmann::json keeps objects in a
// std::map, always in the same (sorted) order. Ports and CIDRs are strings
// ("8000-8100", "10.0.0.0/8"), ids and ports of actions numbers.
#include "meshcap/render.hpp"
#include "meshcap/overloaded.hpp"

namespace meshcap {

namespace {

using nlohmann::json;

json with_set(json j, const std::string& set) {
  if (!set.empty()) j["set"] = set;
  return j;
}

json match_json(const Match& m) {
  return std::visit(
      overloaded{
          [](const IifMatch& x) { return with_set({{"type", "iif"}, {"values", x.names}}, x.set); },
          [](const OifMatch& x) { return with_set({{"type", "oif"}, {"values", x.names}}, x.set); },
          [](const ProtoMatch& x) { return json{{"type", "proto"}, {"proto", proto_name(x.proto)}}; },
          [](const PortMatch& x) {
            json values = json::array();
            for (const auto& r : x.ports) values.push_back(to_string(r));
            return with_set({{"type", x.source ? "sport" : "dport"},
                             {"proto", proto_name(x.proto)},
                             {"values", values}},
                            x.set);
          },
          [](const AddrMatch& x) {
            json values = json::array();
            for (const auto& c : x.cidrs) values.push_back(c.str());
            return with_set({{"type", x.source ? "saddr" : "daddr"}, {"values", values}}, x.set);
          },
          [](const OwnerMatch& x) {
            return with_set({{"type", x.gid ? "gid" : "uid"}, {"values", x.ids}}, x.set);
          },
          [](const CtStateMatch&) { return json{{"type", "ctState"}, {"state", "invalid"}}; },
      },
      m);
}

json action_json(const Action& a) {
  return std::visit(
      overloaded{
          [](const ReturnAction&) { return json{{"type", "return"}}; },
          [](const JumpAction& x) { return json{{"type", "jump"}, {"chain", x.chain}}; },
          [](const RedirectAction& x) { return json{{"type", "redirect"}, {"port", x.port}}; },
          [](const TproxyAction& x) {
            return json{{"type", "tproxy"}, {"port", x.port}, {"mark", x.mark}};
          },
          [](const CtZoneAction& x) { return json{{"type", "ctZone"}, {"zone", x.zone}}; },
          [](const DropAction&) { return json{{"type", "drop"}}; },
      },
      a);
}

json table_json(const Table& t) {
  json sets = json::array();
  for (const auto& s : named_sets(t))
    sets.push_back({{"name", s.name}, {"type", set_type_name(s.type)}, {"interval", s.interval}});
  json chains = json::array();
  for (const auto& c : t.chains) {
    json rules = json::array();
    for (const auto& r : c.rules) {
      json matches = json::array();
      for (const auto& m : r.matches) matches.push_back(match_json(m));
      json rule{{"matches", matches}, {"action", action_json(r.action)}};
      if (!r.note.empty()) rule["note"] = r.note;
      rules.push_back(std::move(rule));
    }
    json chain{{"name", c.name},
               {"iptablesName", iptables_chain_name(c.name)},
               {"kind", chain_kind_name(c.kind)},
               {"rules", rules}};
    if (c.hook) chain["hook"] = hook_name(*c.hook);
    chains.push_back(std::move(chain));
  }
  return {{"family", family_name(t.family)}, {"name", kTableName}, {"sets", sets},
          {"chains", chains}};
}

}  // namespace

json render_json(const Plan& plan) {
  json tables = json::array();
  for (const auto& t : plan.tables) tables.push_back(table_json(t));
  json policy = json::array();
  for (const auto& r : plan.policy_rules)
    policy.push_back({{"family", family_name(r.family)},
                      {"fwmark", r.fwmark},
                      {"table", r.table},
                      {"priority", r.priority}});
  json routes = json::array();
  for (const auto& r : plan.local_routes)
    routes.push_back({{"family", family_name(r.family)}, {"table", r.table}, {"type", "local"},
                      {"dev", "lo"}});
  json addrs = json::array();
  for (const auto& a : plan.lo_addresses)
    addrs.push_back({{"family", family_name(a.address.family)},
                     {"address", a.address.addr_string() + "/" + std::to_string(a.address.prefix)},
                     {"dev", "lo"}});
  return {{"tables", tables},
          {"policyRules", policy},
          {"localRoutes", routes},
          {"loAddresses", addrs}};
}

}  // namespace meshcap
