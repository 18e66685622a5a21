#include "meshcap/plan.hpp"

#include <algorithm>
#include <type_traits>

#include "meshcap/overloaded.hpp"

namespace meshcap {

const char* proto_name(Proto p) { return p == Proto::Tcp ? "tcp" : "udp"; }

const char* chain_kind_name(ChainKind k) {
  switch (k) {
    case ChainKind::Nat: return "nat";
    case ChainKind::Mangle: return "mangle";
    case ChainKind::Raw: return "raw";
  }
  return "?";
}

const char* hook_name(Hook h) { return h == Hook::Prerouting ? "prerouting" : "output"; }

const char* set_type_name(SetType t) {
  switch (t) {
    case SetType::Ifname: return "ifname";
    case SetType::Ipv4Addr: return "ipv4_addr";
    case SetType::Ipv6Addr: return "ipv6_addr";
    case SetType::InetService: return "inet_service";
    case SetType::Uid: return "uid";
    case SetType::Gid: return "gid";
  }
  return "?";
}

namespace {

bool any_prefix(const std::vector<Cidr>& cidrs) {
  return std::any_of(cidrs.begin(), cidrs.end(), [](const Cidr& c) { return !c.is_host(); });
}

bool any_range(const std::vector<PortRange>& ports) {
  return std::any_of(ports.begin(), ports.end(), [](const PortRange& p) { return !p.single(); });
}

// The set a match names, or nullopt for a plain comparison.
std::optional<NamedSet> set_of(const Match& match, Family family) {
  return std::visit(
      overloaded{
          [&](const IifMatch& m) -> std::optional<NamedSet> {
            if (m.set.empty()) return std::nullopt;
            return NamedSet{m.set, SetType::Ifname, false, match};
          },
          [&](const OifMatch& m) -> std::optional<NamedSet> {
            if (m.set.empty()) return std::nullopt;
            return NamedSet{m.set, SetType::Ifname, false, match};
          },
          [](const ProtoMatch&) -> std::optional<NamedSet> { return std::nullopt; },
          [](const CtStateMatch&) -> std::optional<NamedSet> { return std::nullopt; },
          [&](const PortMatch& m) -> std::optional<NamedSet> {
            if (m.set.empty()) return std::nullopt;
            return NamedSet{m.set, SetType::InetService, any_range(m.ports), match};
          },
          [&](const AddrMatch& m) -> std::optional<NamedSet> {
            if (m.set.empty()) return std::nullopt;
            auto type = family == Family::V4 ? SetType::Ipv4Addr : SetType::Ipv6Addr;
            return NamedSet{m.set, type, any_prefix(m.cidrs), match};
          },
          [&](const OwnerMatch& m) -> std::optional<NamedSet> {
            if (m.set.empty()) return std::nullopt;
            return NamedSet{m.set, m.gid ? SetType::Gid : SetType::Uid, false, match};
          },
      },
      match);
}

}  // namespace

std::vector<NamedSet> named_sets(const Table& table) {
  std::vector<NamedSet> sets;
  for (const auto& chain : table.chains)
    for (const auto& rule : chain.rules)
      for (const auto& match : rule.matches) {
        auto set = set_of(match, table.family);
        if (!set) continue;
        bool seen = std::any_of(sets.begin(), sets.end(),
                                [&](const NamedSet& s) { return s.name == set->name; });
        if (!seen) sets.push_back(std::move(*set));
      }
  return sets;
}

}  // namespace meshcap
