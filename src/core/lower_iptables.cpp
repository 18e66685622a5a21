#include "meshcap/lower_iptables.hpp"
#include "meshcap/overloaded.hpp"
#include "meshcap/sorted.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
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

// Where a match of its type sits in an iptables entry when it holds a
// single value; extensions keep plan order.
int value_slot(const Match& m) {
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

// Where a match sits in an iptables entry; an ipset lookup is an extension.
int slot(const Match& m) { return names_ipset(m) ? 5 : value_slot(m); }

// An address of the whole family: the kernel holds it as no match at all.
bool whole_family(const Cidr& c, Family family) { return c.prefix == 0 && c.family == family; }

// The ipsets one lowering has named, so that two lists of one plan set that
// differ (which the planner never makes) do not share a set: the second is
// expanded instead.
struct Ipsets {
  bool enabled = false;
  std::map<std::string, Match> named;
};

// The match as one ipset lookup, or nullopt when it stays expanded.
std::optional<Match> as_ipset(const Match& match, Family family, Ipsets& sets) {
  if (!sets.enabled) return std::nullopt;
  std::optional<Match> lookup;
  std::string plan_set;
  if (const auto* a = std::get_if<AddrMatch>(&match)) {
    if (a->set.empty()) return std::nullopt;
    std::vector<Cidr> cidrs = a->cidrs;
    sort_unique(cidrs);
    if (cidrs.size() <= kIpsetThreshold) return std::nullopt;
    for (const auto& c : cidrs)
      if (c.family != family || c.prefix == 0) return std::nullopt;  // hash:net holds no /0
    plan_set = a->set;
    lookup = AddrMatch{a->source, std::move(cidrs), ""};
  } else if (const auto* p = std::get_if<PortMatch>(&match)) {
    if (p->set.empty()) return std::nullopt;
    auto ports = merge_port_ranges(p->ports);
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

// How many single-valued matches a list stands for (a match without a list:
// itself, one).
size_t value_count(const Match& m) {
  return std::visit(overloaded{
                        [](const IifMatch& x) { return x.names.size(); },
                        [](const OifMatch& x) { return x.names.size(); },
                        [](const ProtoMatch&) { return size_t{1}; },
                        [](const CtStateMatch&) { return size_t{1}; },
                        [](const PortMatch& x) { return x.ports.size(); },
                        [](const AddrMatch& x) { return x.cidrs.size(); },
                        [](const OwnerMatch& x) { return x.ids.size(); },
                    },
                    m);
}

// Appends the single-valued match for value `k` of `m`: a copy of `m` whose
// list holds just that value and that names no set, made directly (each
// copy costs its own value only); nothing for an address of the whole
// family.
void append_value(const Match& m, size_t k, Family family, std::vector<Match>& out) {
  std::visit(overloaded{
                 [&](const IifMatch& x) {
                   out.emplace_back(IifMatch{{x.names[k]}, {}});
                 },
                 [&](const OifMatch& x) {
                   out.emplace_back(OifMatch{{x.names[k]}, {}});
                 },
                 [&](const ProtoMatch& x) { out.emplace_back(x); },
                 [&](const CtStateMatch& x) { out.emplace_back(x); },
                 [&](const PortMatch& x) {
                   out.emplace_back(PortMatch{x.proto, x.source, {x.ports[k]}, {}});
                 },
                 [&](const AddrMatch& x) {
                   if (!whole_family(x.cidrs[k], family))
                     out.emplace_back(AddrMatch{x.source, {x.cidrs[k]}, {}});
                 },
                 [&](const OwnerMatch& x) {
                   out.emplace_back(OwnerMatch{x.gid, {x.ids[k]}, {}});
                 },
             },
             m);
}

// One match of a plan rule as its copies take it: an ipset lookup, or value
// by value.
struct Alternatives {
  const Match* match;
  std::optional<Match> lookup;
  size_t count = 1;
  int slot = 0;  // where the first copy's match sits (all copies' alike)
};

// What expand_rule works in, kept across the rules of one lowering so that
// a rule allocates only its copies' matches.
struct Scratch {
  std::vector<Alternatives> alts;
  std::vector<size_t> order, pick;
};

// Fills scratch.alts with the rule's matches as its copies take them, and
// returns how many copies there are (0: an empty list matches nothing).
size_t alternatives(const Rule& rule, Family family, Ipsets& sets, Scratch& scratch) {
  auto& alts = scratch.alts;
  alts.clear();
  size_t copies = 1;
  for (const auto& m : rule.matches) {
    Alternatives a{&m, as_ipset(m, family, sets)};
    if (a.lookup) {
      a.slot = slot(*a.lookup);
    } else {
      a.count = value_count(m);
      if (a.count == 0) return 0;
      // A whole-family first address is no match; its place is the plan match's.
      const auto* addr = std::get_if<AddrMatch>(&m);
      a.slot = addr && whole_family(addr->cidrs[0], family) ? slot(m) : value_slot(m);
    }
    copies *= a.count;
    alts.push_back(std::move(a));
  }
  return copies;
}

// The copies of a chain's rules, counted first so that the vector holding
// them is allocated once at its size: grown by doubling, a 10,000-copy chain
// briefly held its old and new arrays (3x its size) and kept up to twice
// its size (docs/benchmarks.md, "Memory"). With ipsets a long list is one
// lookup and the copies are few; counting them would build each set twice.
size_t copies_of(const std::vector<Rule>& rules, Family family, Ipsets& sets, Scratch& scratch) {
  if (sets.enabled) return rules.size();
  size_t n = 0;
  for (const auto& r : rules) n += alternatives(r, family, sets, scratch);
  return n;
}

// The rule's copies, one per combination of its matches' values, the first
// match's values varying slowest; `emit(matches, first)` takes each.
template <class Emit>
void expand_rule(const Rule& rule, Family family, Ipsets& sets, Scratch& scratch, const Emit& emit) {
  if (alternatives(rule, family, sets, scratch) == 0) return;
  auto& alts = scratch.alts;
  // The entry order of the matches, the same for every copy: a stable
  // insertion sort of the few matches by slot.
  auto& order = scratch.order;
  order.resize(alts.size());
  for (size_t i = 0; i < alts.size(); ++i) {
    size_t j = i;
    for (; j > 0 && alts[order[j - 1]].slot > alts[i].slot; --j) order[j] = order[j - 1];
    order[j] = i;
  }
  auto& pick = scratch.pick;
  pick.assign(alts.size(), 0);
  for (bool first = true;; first = false) {
    std::vector<Match> matches;
    matches.reserve(order.size());
    for (size_t i : order) {
      if (alts[i].lookup)
        matches.push_back(*alts[i].lookup);
      else
        append_value(*alts[i].match, pick[i], family, matches);
    }
    emit(std::move(matches), first);
    size_t i = alts.size();
    while (i > 0 && ++pick[i - 1] == alts[i - 1].count) pick[--i] = 0;
    if (i == 0) break;
  }
}

char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// The plan chain of kPlanChains whose iptables name `name` has (the same
// letters in any case); null for none.
const char* plan_chain_for(std::string_view name) {
  for (const char* c : kPlanChains) {
    std::string_view plan = c;
    if (plan.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; same && i < plan.size(); ++i) same = ascii_upper(plan[i]) == ascii_upper(name[i]);
    if (same) return c;
  }
  return nullptr;
}

void lower_rule(const Rule& rule, Family family, Ipsets& sets, Scratch& scratch, std::vector<IptRule>& out) {
  const auto* jump = std::get_if<JumpAction>(&rule.action);
  const Action action = jump ? Action{JumpAction{iptables_chain_name(jump->chain)}} : rule.action;
  const bool new_only = std::holds_alternative<TproxyAction>(rule.action);
  expand_rule(rule, family, sets, scratch, [&](std::vector<Match> matches, bool first) {
    out.push_back(IptRule{std::move(matches), new_only, action, first ? rule.note : std::string()});
  });
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

// Adds a chain to a family's, which are kept in kPlanChains order; after
// those of its rank already there, as a stable sort would place it.
void insert_ranked(std::vector<Chain>& chains, Chain chain) {
  size_t r = rank(chain.name);
  auto at = std::find_if(chains.begin(), chains.end(), [&](const Chain& c) { return rank(c.name) > r; });
  chains.insert(at, std::move(chain));
}

}  // namespace

std::string iptables_chain_name(const std::string& chain) {
  std::string out;
  out.reserve(kPrefix.size() + chain.size());
  out.append(kPrefix);
  for (char c : chain) out.push_back(ascii_upper(c));
  return out;
}

const std::vector<std::string>& iptables_owned_chains() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const char* c : kPlanChains) out.push_back(iptables_chain_name(c));
    return out;
  }();
  return names;
}

namespace {

// The plan chain of kPlanChains with iptables_chain_name(c) == iptables_name,
// found without making the names; null for none.
const char* owned_plan_chain(std::string_view iptables_name) {
  if (iptables_name.substr(0, kPrefix.size()) != kPrefix) return nullptr;
  iptables_name.remove_prefix(kPrefix.size());
  for (const char* c : kPlanChains) {
    std::string_view plan = c;
    if (plan.size() != iptables_name.size()) continue;
    bool same = true;
    for (size_t i = 0; same && i < plan.size(); ++i) same = ascii_upper(plan[i]) == iptables_name[i];
    if (same) return c;
  }
  return nullptr;
}

}  // namespace

bool iptables_owned_chain(std::string_view name) { return owned_plan_chain(name) != nullptr; }

std::optional<std::string> plan_chain_name(std::string_view iptables_name) {
  const char* c = owned_plan_chain(iptables_name);
  if (!c) return std::nullopt;
  return std::string(c);
}

const char* iptables_tool(Family family) { return family == Family::V4 ? "iptables" : "ip6tables"; }

const char* iptables_builtin_chain(Hook hook) { return hook == Hook::Prerouting ? "PREROUTING" : "OUTPUT"; }

IptRuleset lower_iptables(const Plan& plan, IptOptions options) {
  IptRuleset out;
  Scratch scratch;
  for (Family family : {Family::V4, Family::V6})
    for (const auto& table : plan.tables) {
      if (table.family != family) continue;
      Ipsets sets{options.ipsets, {}};
      for (ChainKind kind : {ChainKind::Nat, ChainKind::Mangle, ChainKind::Raw}) {
        IptTable t{family, kind, {}, {}};
        for (const auto& c : table.chains) {
          if (c.kind != kind) continue;
          IptChain chain{iptables_chain_name(c.name), {}};
          chain.rules.reserve(copies_of(c.rules, family, sets, scratch));
          for (const auto& r : c.rules) lower_rule(r, family, sets, scratch, chain.rules);
          if (c.hook) t.jumps.push_back(IptJump{iptables_builtin_chain(*c.hook), chain.name});
          t.chains.push_back(std::move(chain));
        }
        if (!t.chains.empty()) out.tables.push_back(std::move(t));
      }
    }
  return out;
}

// By value: the matches, actions and notes move into the plan instead of
// being copied (the backend's read-back hands over what it decoded).
Result<Plan> lift_iptables(IptRuleset ruleset) {
  Plan plan;
  for (Family family : {Family::V4, Family::V6}) {
    Table table{family, {}};
    for (auto& t : ruleset.tables) {
      if (t.family != family) continue;
      std::map<std::string, Hook> hooks;
      for (const auto& j : t.jumps) {
        if (j.builtin != "PREROUTING" && j.builtin != "OUTPUT")
          return tl::unexpected(unexpected(t, "meshcap never jumps to " + j.chain + " from " + j.builtin));
        if (!hooks.emplace(j.chain, j.builtin == "PREROUTING" ? Hook::Prerouting : Hook::Output).second)
          return tl::unexpected(unexpected(t, j.builtin + ": a second jump to " + j.chain));
      }
      for (auto& c : t.chains) {
        auto name = plan_chain_name(c.name);
        if (!name) return tl::unexpected(unexpected(t, "meshcap never creates chain " + c.name));
        Chain chain{*name, t.kind, std::nullopt, {}};
        if (auto it = hooks.find(c.name); it != hooks.end()) chain.hook = it->second;
        chain.rules.reserve(c.rules.size());
        for (size_t i = 0; i < c.rules.size(); ++i) {
          IptRule& r = c.rules[i];
          auto where = [&] { return c.name + " rule " + std::to_string(i + 1) + ": "; };
          bool tproxy = std::holds_alternative<TproxyAction>(r.action);
          if (tproxy && !r.new_only)
            return tl::unexpected(unexpected(t, where() + "TPROXY without -m state --state NEW"));
          if (!tproxy && r.new_only)
            return tl::unexpected(
                unexpected(t, where() + "-m state --state NEW on a rule that is not TPROXY"));
          if (const auto* j = std::get_if<JumpAction>(&r.action)) {
            auto target = plan_chain_name(j->chain);
            if (!target) return tl::unexpected(unexpected(t, where() + "a jump to " + j->chain));
            chain.rules.push_back(
                Rule{std::move(r.matches), JumpAction{std::move(*target)}, std::move(r.note)});
          } else {
            chain.rules.push_back(Rule{std::move(r.matches), std::move(r.action), std::move(r.note)});
          }
        }
        insert_ranked(table.chains, std::move(chain));
      }
    }
    if (table.chains.empty()) continue;
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

namespace {

// lift_iptables(lower_iptables(plan, options)) made in one step, without the
// lowered ruleset; nullopt for a plan whose chain names or jumps the slow way
// would refuse or rename (only hand-made plans), left to the slow way.
std::optional<Plan> held_tables(const Plan& plan, IptOptions options) {
  Plan held;
  Scratch scratch;
  for (Family family : {Family::V4, Family::V6}) {
    Table table{family, {}};
    for (const auto& t : plan.tables) {
      if (t.family != family) continue;
      Ipsets sets{options.ipsets, {}};
      for (ChainKind kind : {ChainKind::Nat, ChainKind::Mangle, ChainKind::Raw}) {
        for (const auto& c : t.chains) {
          if (c.kind != kind) continue;
          const char* name = plan_chain_for(c.name);
          if (!name) return std::nullopt;
          // One table's chains are found by name: the same name twice makes
          // two jumps to one chain, or one chain's jump serving two.
          for (const auto& other : table.chains)
            if (other.kind == kind && other.name == name) return std::nullopt;
          Chain chain{name, kind, c.hook, {}};
          chain.rules.reserve(copies_of(c.rules, family, sets, scratch));
          for (const auto& r : c.rules) {
            Action action = r.action;
            if (const auto* j = std::get_if<JumpAction>(&r.action)) {
              const char* target = plan_chain_for(j->chain);
              if (!target) return std::nullopt;
              action = JumpAction{target};
            }
            expand_rule(r, family, sets, scratch, [&](std::vector<Match> matches, bool first) {
              chain.rules.push_back(Rule{std::move(matches), action, first ? r.note : std::string()});
            });
          }
          insert_ranked(table.chains, std::move(chain));
        }
      }
    }
    if (table.chains.empty()) continue;
    held.tables.push_back(std::move(table));
  }
  return held;
}

}  // namespace

Plan iptables_held_form(const Plan& plan, IptOptions options) {
  auto made = held_tables(plan, options);
  // Every ruleset lower_iptables makes lifts.
  Plan held = made ? std::move(*made) : lift_iptables(lower_iptables(plan, options)).value();
  held.policy_rules = plan.policy_rules;
  held.local_routes = plan.local_routes;
  held.lo_addresses = plan.lo_addresses;
  return held;
}

}  // namespace meshcap
