#include "meshcap/lower_iptables.hpp"
#include "meshcap/overloaded.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <numeric>
#include <utility>

namespace meshcap {

namespace {

constexpr std::string_view kPrefix = "MESHCAP_";

// The planner's chains in the order lift_iptables lists them, then the
// retired ones.
const char* const kPlanChains[] = {"prerouting", "output",         "drop_invalid", "inbound_tproxy",
                                   "raw_output", "raw_prerouting", "inbound",      "tproxy"};

// Whether a lowered match is an ipset lookup: only those keep a set name.
bool names_ipset(const Match& m) {
  if (const auto* a = std::get_if<AddrMatch>(&m)) return !a->set.empty();
  if (const auto* p = std::get_if<PortMatch>(&m)) return !p->set.empty();
  return false;
}

// Where a match sits in an iptables entry; extensions keep plan order.
int slot(const Match& m) {
  if (names_ipset(m)) return 5;
  return std::visit(overloaded{
                        [](const AddrMatch& x) { return x.source ? 0 : 1; },
                        [](const IifMatch&) { return 2; },
                        [](const OifMatch&) { return 3; },
                        [](const ProtoMatch&) { return 4; },
                        [](const PortMatch&) { return 5; },
                        [](const OwnerMatch&) { return 5; },
                        [](const CtStateMatch&) { return 5; },
                    },
                    m);
}

// One single-valued match per value of `m`: each is a copy of `m` whose value
// list holds just that value. The list is emptied before the copies are
// made, so each copy costs its own value only (copying `m` whole per value
// made the expansion quadratic).
template <class M, class V>
std::vector<Match> each(const M& m, std::vector<V> M::*field) {
  M base = m;
  base.set.clear();
  (base.*field) = {};
  std::vector<Match> out;
  out.reserve((m.*field).size());
  for (const auto& v : m.*field) {
    M one = base;
    (one.*field).push_back(v);
    out.emplace_back(std::move(one));
  }
  return out;
}

bool whole_family(const AddrMatch& m, Family family) {
  return m.cidrs.size() == 1 && m.cidrs[0].prefix == 0 && m.cidrs[0].family == family;
}

// The ipsets one lowering has named, so that two lists of one plan set that
// differ (which the planner never makes) do not share a set: the second is
// expanded instead.
struct Ipsets {
  bool enabled = false;
  std::map<std::string, Match> named;
};

std::vector<PortRange> merged_ports(std::vector<PortRange> v) {
  std::sort(v.begin(), v.end());
  std::vector<PortRange> out;
  for (const auto& r : v) {
    if (!out.empty() && static_cast<uint32_t>(out.back().last) + 1 >= r.first)
      out.back().last = std::max(out.back().last, r.last);
    else
      out.push_back(r);
  }
  return out;
}

// The match as one ipset lookup, or nullopt when it stays expanded.
std::optional<Match> as_ipset(const Match& match, Family family, Ipsets& sets) {
  if (!sets.enabled) return std::nullopt;
  std::optional<Match> lookup;
  std::string plan_set;
  if (const auto* a = std::get_if<AddrMatch>(&match)) {
    if (a->set.empty()) return std::nullopt;
    std::vector<Cidr> cidrs = a->cidrs;
    std::sort(cidrs.begin(), cidrs.end());
    cidrs.erase(std::unique(cidrs.begin(), cidrs.end()), cidrs.end());
    if (cidrs.size() <= kIpsetThreshold) return std::nullopt;
    for (const auto& c : cidrs)
      if (c.family != family || c.prefix == 0) return std::nullopt;  // hash:net holds no /0
    plan_set = a->set;
    lookup = AddrMatch{a->source, std::move(cidrs), ""};
  } else if (const auto* p = std::get_if<PortMatch>(&match)) {
    if (p->set.empty()) return std::nullopt;
    auto ports = merged_ports(p->ports);
    if (ports.size() <= kIpsetThreshold) return std::nullopt;
    plan_set = p->set;
    lookup = PortMatch{p->proto, p->source, std::move(ports), ""};
  } else {
    return std::nullopt;
  }
  // A lifted plan already names the ipset.
  std::string name = ipset_owned(plan_set) ? plan_set : ipset_name(family, plan_set);
  // The set holds the elements only; the direction and protocol are the rule's.
  auto elements = [](const Match& m) {
    if (const auto* a = std::get_if<AddrMatch>(&m)) return Match{AddrMatch{false, a->cidrs, ""}};
    const auto& p = std::get<PortMatch>(m);
    return Match{PortMatch{Proto::Tcp, false, p.ports, ""}};
  };
  auto [it, fresh] = sets.named.emplace(name, elements(*lookup));
  if (!fresh && it->second != elements(*lookup)) return std::nullopt;
  std::visit(
      overloaded{[&](AddrMatch& x) { x.set = name; }, [&](PortMatch& x) { x.set = name; }, [](auto&) {}},
      *lookup);
  return lookup;
}

// The single-valued matches a match stands for; an empty vector inside means
// "no match needed" (an address match of the whole family).
std::vector<std::vector<Match>> alternatives(const Match& match, Family family, Ipsets& sets) {
  auto wrap = [](std::vector<Match> ms) {
    std::vector<std::vector<Match>> out;
    out.reserve(ms.size());
    for (auto& m : ms) out.push_back({std::move(m)});
    return out;
  };
  if (auto lookup = as_ipset(match, family, sets)) return {{std::move(*lookup)}};
  return std::visit(overloaded{
                        [&](const IifMatch& x) { return wrap(each(x, &IifMatch::names)); },
                        [&](const OifMatch& x) { return wrap(each(x, &OifMatch::names)); },
                        [&](const ProtoMatch&) { return std::vector<std::vector<Match>>{{match}}; },
                        [&](const CtStateMatch&) { return std::vector<std::vector<Match>>{{match}}; },
                        [&](const PortMatch& x) { return wrap(each(x, &PortMatch::ports)); },
                        [&](const AddrMatch& x) {
                          auto out = wrap(each(x, &AddrMatch::cidrs));
                          for (auto& alt : out)
                            if (whole_family(std::get<AddrMatch>(alt[0]), family)) alt.clear();
                          return out;
                        },
                        [&](const OwnerMatch& x) { return wrap(each(x, &OwnerMatch::ids)); },
                    },
                    match);
}

std::string upper(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Action lowered_action(const Action& a) {
  if (const auto* j = std::get_if<JumpAction>(&a)) return JumpAction{iptables_chain_name(j->chain)};
  return a;
}

// The rule's copies, one per combination of its matches' values, the first
// match's values varying slowest.
void lower_rule(const Rule& rule, Family family, Ipsets& sets, std::vector<IptRule>& out) {
  std::vector<std::vector<std::vector<Match>>> alts;
  alts.reserve(rule.matches.size());
  for (const auto& m : rule.matches) {
    alts.push_back(alternatives(m, family, sets));
    if (alts.back().empty()) return;  // an empty set matches nothing
  }
  // The entry order of the matches, the same for every copy.
  std::vector<size_t> order(rule.matches.size());
  std::iota(order.begin(), order.end(), 0);
  // A match's slot is the same in every copy (alternatives are all lookups
  // or all single values), so the first copy's decides.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return slot(alts[a][0].empty() ? rule.matches[a] : alts[a][0][0]) <
           slot(alts[b][0].empty() ? rule.matches[b] : alts[b][0][0]);
  });
  Action action = lowered_action(rule.action);
  bool new_only = std::holds_alternative<TproxyAction>(rule.action);
  std::vector<size_t> pick(alts.size(), 0);
  for (bool first = true;; first = false) {
    IptRule r{{}, new_only, action, first ? rule.note : std::string()};
    r.matches.reserve(order.size());
    for (size_t i : order)
      for (const auto& m : alts[i][pick[i]]) r.matches.push_back(m);
    out.push_back(std::move(r));
    size_t i = alts.size();
    while (i > 0 && ++pick[i - 1] == alts[i - 1].size()) pick[--i] = 0;
    if (i == 0) break;
  }
}

Error unexpected(const IptTable& t, const std::string& what) {
  return Error{ErrorKind::Verify, std::string(iptables_tool(t.family)) + " table " +
                                      chain_kind_name(t.kind) + ": " + what +
                                      "; run `meshcap apply` to converge"};
}

size_t rank(const std::string& plan_chain) {
  return static_cast<size_t>(std::find(std::begin(kPlanChains), std::end(kPlanChains), plan_chain) -
                             std::begin(kPlanChains));
}

}  // namespace

std::string iptables_chain_name(const std::string& chain) { return std::string(kPrefix) + upper(chain); }

const std::vector<std::string>& iptables_owned_chains() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const char* c : kPlanChains) out.push_back(iptables_chain_name(c));
    return out;
  }();
  return names;
}

bool iptables_owned_chain(std::string_view name) {
  const auto& owned = iptables_owned_chains();
  return std::find(owned.begin(), owned.end(), name) != owned.end();
}

std::optional<std::string> plan_chain_name(std::string_view iptables_name) {
  for (const char* c : kPlanChains)
    if (iptables_chain_name(c) == iptables_name) return std::string(c);
  return std::nullopt;
}

const char* iptables_tool(Family family) { return family == Family::V4 ? "iptables" : "ip6tables"; }

const char* iptables_builtin_chain(Hook hook) { return hook == Hook::Prerouting ? "PREROUTING" : "OUTPUT"; }

IptRuleset lower_iptables(const Plan& plan, IptOptions options) {
  IptRuleset out;
  for (Family family : {Family::V4, Family::V6})
    for (const auto& table : plan.tables) {
      if (table.family != family) continue;
      Ipsets sets{options.ipsets, {}};
      for (ChainKind kind : {ChainKind::Nat, ChainKind::Mangle, ChainKind::Raw}) {
        IptTable t{family, kind, {}, {}};
        for (const auto& c : table.chains) {
          if (c.kind != kind) continue;
          IptChain chain{iptables_chain_name(c.name), {}};
          for (const auto& r : c.rules) lower_rule(r, family, sets, chain.rules);
          if (c.hook) t.jumps.push_back(IptJump{iptables_builtin_chain(*c.hook), chain.name});
          t.chains.push_back(std::move(chain));
        }
        if (!t.chains.empty()) out.tables.push_back(std::move(t));
      }
    }
  return out;
}

Result<Plan> lift_iptables(const IptRuleset& ruleset) {
  Plan plan;
  for (Family family : {Family::V4, Family::V6}) {
    Table table{family, {}};
    for (const auto& t : ruleset.tables) {
      if (t.family != family) continue;
      std::map<std::string, Hook> hooks;
      for (const auto& j : t.jumps) {
        if (j.builtin != "PREROUTING" && j.builtin != "OUTPUT")
          return tl::unexpected(unexpected(t, "meshcap never jumps to " + j.chain + " from " + j.builtin));
        if (!hooks.emplace(j.chain, j.builtin == "PREROUTING" ? Hook::Prerouting : Hook::Output).second)
          return tl::unexpected(unexpected(t, j.builtin + ": a second jump to " + j.chain));
      }
      for (const auto& c : t.chains) {
        auto name = plan_chain_name(c.name);
        if (!name) return tl::unexpected(unexpected(t, "meshcap never creates chain " + c.name));
        Chain chain{*name, t.kind, std::nullopt, {}};
        if (auto it = hooks.find(c.name); it != hooks.end()) chain.hook = it->second;
        chain.rules.reserve(c.rules.size());
        for (size_t i = 0; i < c.rules.size(); ++i) {
          const IptRule& r = c.rules[i];
          std::string where = c.name + " rule " + std::to_string(i + 1) + ": ";
          bool tproxy = std::holds_alternative<TproxyAction>(r.action);
          if (tproxy && !r.new_only)
            return tl::unexpected(unexpected(t, where + "TPROXY without -m state --state NEW"));
          if (!tproxy && r.new_only)
            return tl::unexpected(unexpected(t, where + "-m state --state NEW on a rule that is not TPROXY"));
          Action action = r.action;
          if (const auto* j = std::get_if<JumpAction>(&r.action)) {
            auto target = plan_chain_name(j->chain);
            if (!target) return tl::unexpected(unexpected(t, where + "a jump to " + j->chain));
            action = JumpAction{*target};
          }
          chain.rules.push_back(Rule{r.matches, std::move(action), r.note});
        }
        table.chains.push_back(std::move(chain));
      }
    }
    if (table.chains.empty()) continue;
    std::stable_sort(table.chains.begin(), table.chains.end(),
                     [](const Chain& a, const Chain& b) { return rank(a.name) < rank(b.name); });
    plan.tables.push_back(std::move(table));
  }
  return plan;
}

std::vector<IptSet> iptables_sets(const IptRuleset& ruleset) {
  std::vector<IptSet> out;
  for (const auto& t : ruleset.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        for (const auto& m : r.matches) {
          if (!names_ipset(m)) continue;
          const std::string& name =
              std::holds_alternative<AddrMatch>(m) ? std::get<AddrMatch>(m).set : std::get<PortMatch>(m).set;
          if (std::none_of(out.begin(), out.end(), [&](const IptSet& s) { return s.name == name; }))
            out.push_back(IptSet{name, t.family, m});
        }
  return out;
}

bool ipset_candidates(const Plan& plan) {
  for (const auto& t : plan.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        for (const auto& m : r.matches) {
          if (const auto* a = std::get_if<AddrMatch>(&m);
              a && !a->set.empty() && a->cidrs.size() > kIpsetThreshold)
            return true;
          if (const auto* p = std::get_if<PortMatch>(&m);
              p && !p->set.empty() && p->ports.size() > kIpsetThreshold)
            return true;
        }
  return false;
}

bool ipset_owned(std::string_view name) {
  return name.substr(0, kIpsetPrefix4.size()) == kIpsetPrefix4 ||
         name.substr(0, kIpsetPrefix6.size()) == kIpsetPrefix6;
}

std::string ipset_name(Family family, const std::string& plan_set) {
  // Short words keep the names readable within the kernel's 31 characters.
  std::string name = plan_set;
  for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"exclude_", "x_"},
                          {"include_", "i_"},
                          {"outbound", "out"},
                          {"inbound", "in"}}) {
    for (size_t at; (at = name.find(from)) != std::string::npos;) name.replace(at, from.size(), to);
  }
  std::string_view prefix = family == Family::V4 ? kIpsetPrefix4 : kIpsetPrefix6;
  size_t room = kIpsetMaxName - prefix.size() - kIpsetSuffixLength;
  if (name.size() > room) {
    // Cut, with a hash of the whole name so that two long names stay apart.
    uint32_t h = 2166136261u;
    for (char c : plan_set) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    char tail[6];
    std::snprintf(tail, sizeof tail, "_%04x", h & 0xffff);
    name = name.substr(0, room - 5) + tail;
  }
  return std::string(prefix) + name;
}

std::string ipset_base_name(std::string_view name) {
  for (std::string_view suffix : kIpsetAltSuffixes)
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      name.remove_suffix(suffix.size());
      break;
    }
  return std::string(name);
}

std::vector<std::string> ipset_written_names(const std::string& name) {
  std::vector<std::string> out{name};
  for (std::string_view suffix : kIpsetAltSuffixes) out.push_back(name + std::string(suffix));
  return out;
}

Plan iptables_held_form(const Plan& plan, IptOptions options) {
  // Every ruleset lower_iptables makes lifts.
  Plan held = lift_iptables(lower_iptables(plan, options)).value();
  held.policy_rules = plan.policy_rules;
  held.local_routes = plan.local_routes;
  held.lo_addresses = plan.lo_addresses;
  return held;
}

}  // namespace meshcap
