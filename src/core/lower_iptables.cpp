#include "meshcap/lower_iptables.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <numeric>
#include <utility>

namespace meshcap {

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

constexpr std::string_view kPrefix = "MESHCAP_";

// The planner's chains in the order lift_iptables lists them, then the
// retired ones.
const char* const kPlanChains[] = {"prerouting",     "output",  "inbound_tproxy", "raw_output",
                                   "raw_prerouting", "inbound", "tproxy"};

// Where a match sits in an iptables entry; extensions keep plan order.
int slot(const Match& m) {
  return std::visit(overloaded{
                        [](const AddrMatch& x) { return x.source ? 0 : 1; },
                        [](const IifMatch&) { return 2; },
                        [](const OifMatch&) { return 3; },
                        [](const ProtoMatch&) { return 4; },
                        [](const PortMatch&) { return 5; },
                        [](const OwnerMatch&) { return 5; },
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

// The single-valued matches a match stands for; an empty vector inside means
// "no match needed" (an address match of the whole family).
std::vector<std::vector<Match>> alternatives(const Match& match, Family family) {
  auto wrap = [](std::vector<Match> ms) {
    std::vector<std::vector<Match>> out;
    out.reserve(ms.size());
    for (auto& m : ms) out.push_back({std::move(m)});
    return out;
  };
  return std::visit(overloaded{
                        [&](const IifMatch& x) { return wrap(each(x, &IifMatch::names)); },
                        [&](const OifMatch& x) { return wrap(each(x, &OifMatch::names)); },
                        [&](const ProtoMatch&) { return std::vector<std::vector<Match>>{{match}}; },
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
void lower_rule(const Rule& rule, Family family, std::vector<IptRule>& out) {
  std::vector<std::vector<std::vector<Match>>> alts;
  alts.reserve(rule.matches.size());
  for (const auto& m : rule.matches) {
    alts.push_back(alternatives(m, family));
    if (alts.back().empty()) return;  // an empty set matches nothing
  }
  // The entry order of the matches, the same for every copy.
  std::vector<size_t> order(rule.matches.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return slot(rule.matches[a]) < slot(rule.matches[b]); });
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
  return Error{ErrorKind::Verify, std::string(t.family == Family::V4 ? "iptables" : "ip6tables") + " table " +
                                      iptables_table_name(t.kind) + ": " + what +
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

const char* iptables_table_name(ChainKind kind) {
  switch (kind) {
    case ChainKind::Nat:
      return "nat";
    case ChainKind::Mangle:
      return "mangle";
    case ChainKind::Raw:
      return "raw";
  }
  return "?";
}

const char* iptables_builtin_chain(Hook hook) { return hook == Hook::Prerouting ? "PREROUTING" : "OUTPUT"; }

IptRuleset lower_iptables(const Plan& plan) {
  IptRuleset out;
  for (Family family : {Family::V4, Family::V6})
    for (const auto& table : plan.tables) {
      if (table.family != family) continue;
      for (ChainKind kind : {ChainKind::Nat, ChainKind::Mangle, ChainKind::Raw}) {
        IptTable t{family, kind, {}, {}};
        for (const auto& c : table.chains) {
          if (c.kind != kind) continue;
          IptChain chain{iptables_chain_name(c.name), {}};
          for (const auto& r : c.rules) lower_rule(r, family, chain.rules);
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

Plan iptables_held_form(const Plan& plan) {
  // Every ruleset lower_iptables makes lifts.
  Plan held = lift_iptables(lower_iptables(plan)).value();
  held.policy_rules = plan.policy_rules;
  held.local_routes = plan.local_routes;
  held.lo_addresses = plan.lo_addresses;
  return held;
}

}  // namespace meshcap
