#include "meshcap/expand.hpp"

#include <algorithm>
#include <utility>

namespace meshcap {

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
// clang 14 (the fuzz build) has no aggregate deduction yet.
template <class... F>
overloaded(F...) -> overloaded<F...>;

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

template <class M, class V>
std::vector<Match> each(const M& m, const std::vector<V>& values, std::vector<V> M::*field) {
  std::vector<Match> out;
  for (const auto& v : values) {
    M one = m;
    one.set.clear();
    one.*field = {v};
    out.emplace_back(std::move(one));
  }
  return out;
}

// The single-valued matches a match stands for: itself when it is a plain
// comparison already.
std::vector<Match> alternatives(const Match& match) {
  return std::visit(overloaded{
                        [&](const IifMatch& x) { return each(x, x.names, &IifMatch::names); },
                        [&](const OifMatch& x) { return each(x, x.names, &OifMatch::names); },
                        [&](const ProtoMatch&) { return std::vector<Match>{match}; },
                        [&](const PortMatch& x) { return each(x, x.ports, &PortMatch::ports); },
                        [&](const AddrMatch& x) { return each(x, x.cidrs, &AddrMatch::cidrs); },
                        [&](const OwnerMatch& x) { return each(x, x.ids, &OwnerMatch::ids); },
                    },
                    match);
}

void expand_rule(const Rule& rule, std::vector<Rule>& out) {
  std::vector<std::vector<Match>> combos{{}};
  for (const auto& m : rule.matches) {
    std::vector<std::vector<Match>> next;
    auto alts = alternatives(m);
    for (const auto& combo : combos)
      for (const auto& alt : alts) {
        auto joined = combo;
        joined.push_back(alt);
        next.push_back(std::move(joined));
      }
    combos = std::move(next);
  }
  bool first = true;
  for (auto& combo : combos) {
    std::stable_sort(combo.begin(), combo.end(),
                     [](const Match& a, const Match& b) { return slot(a) < slot(b); });
    // The copies share one reason; a renderer prints it once, above the first.
    out.push_back(Rule{std::move(combo), rule.action, first ? rule.note : std::string()});
    first = false;
  }
}

}  // namespace

Plan expand_sets(const Plan& plan) {
  Plan out = plan;
  for (auto& table : out.tables)
    for (auto& chain : table.chains) {
      std::vector<Rule> rules;
      for (const auto& rule : chain.rules) expand_rule(rule, rules);
      chain.rules = std::move(rules);
    }
  return out;
}

}  // namespace meshcap
