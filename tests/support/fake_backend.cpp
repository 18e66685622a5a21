#include "support/fake_backend.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>

#include "meshcap/diff.hpp"
#include "meshcap/render.hpp"

namespace meshcap::test {

namespace {

// What the kernel would refuse: a jump to a chain the table does not have.
Result<void> check(const Plan& plan) {
  for (const auto& t : plan.tables) {
    std::set<std::string> names;
    for (const auto& c : t.chains) names.insert(c.name);
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        if (auto* j = std::get_if<JumpAction>(&r.action); j && !names.count(j->chain))
          return fail(ErrorKind::Kernel, std::string("fake: table ") + family_name(t.family) + " " +
                                             kTableName + ": chain " + c.name + " jumps to missing chain " +
                                             j->chain);
  }
  return {};
}

Plan tables_of(const Plan& plan) {
  Plan p;
  p.tables = plan.tables;
  return p;
}

Plan routing_of(const Plan& plan) {
  Plan p;
  p.policy_rules = plan.policy_rules;
  p.local_routes = plan.local_routes;
  p.lo_addresses = plan.lo_addresses;
  return p;
}

void lose_a_rule(Plan& plan) {
  for (auto& t : plan.tables)
    for (auto& c : t.chains)
      if (!c.rules.empty()) {
        c.rules.pop_back();
        return;
      }
}

class FakeNetfilter final : public NetfilterBackend {
 public:
  FakeNetfilter(FakeNamespace& ns, std::string name) : ns_(ns), name_(std::move(name)) {}
  const char* name() const override { return name_.c_str(); }

  Result<void> apply(const Plan& plan) override {
    if (std::exchange(ns_.refuse_next_commit, false))
      return fail(ErrorKind::Kernel, "fake: commit refused as requested (refuse_next_commit)");
    if (auto ok = check(plan); !ok) return ok;
    Plan held = tables_of(plan);
    if (std::exchange(ns_.lose_a_rule_on_next_commit, false)) lose_a_rule(held);
    if (held.tables.empty())
      ns_.tables.erase(name_);
    else
      ns_.tables[name_] = std::move(held);
    ++ns_.applies;
    return {};
  }

  Result<Plan> observe() override {
    if (ns_.unreadable.count(name_)) return fail(ErrorKind::Other, "fake: " + name_ + " cannot be read (unreadable)");
    auto it = ns_.tables.find(name_);
    return it == ns_.tables.end() ? Plan{} : it->second;
  }

  Result<void> remove() override {
    ns_.tables.erase(name_);
    return {};
  }

 private:
  FakeNamespace& ns_;
  std::string name_;
};

// Like the kernel's: lo addresses are only ever added, never removed by
// remove() (they may predate meshcap); undo() takes back what apply() added.
class FakeRouting final : public RoutingState {
 public:
  explicit FakeRouting(FakeNamespace& ns) : ns_(ns) {}

  Result<void> apply(const Plan& plan) override {
    last_ = std::nullopt;
    if (std::exchange(ns_.refuse_next_routing, false))
      return fail(ErrorKind::Kernel, "fake: routing change refused as requested (refuse_next_routing)");
    Plan before = ns_.routing;
    ns_.routing.policy_rules = plan.policy_rules;
    ns_.routing.local_routes = plan.local_routes;
    for (const auto& a : plan.lo_addresses)
      if (std::find(before.lo_addresses.begin(), before.lo_addresses.end(), a) == before.lo_addresses.end())
        ns_.routing.lo_addresses.push_back(a);
    last_ = std::move(before);
    return {};
  }

  Result<void> undo() override {
    if (last_) ns_.routing = std::move(*last_);
    last_ = std::nullopt;
    return {};
  }

  Result<Plan> observe() override { return routing_of(ns_.routing); }

  Result<void> remove() override {
    ns_.routing.policy_rules.clear();
    ns_.routing.local_routes.clear();
    return {};
  }

 private:
  FakeNamespace& ns_;
  std::optional<Plan> last_;
};

const char* kind_name(BackendKind kind) { return kind == BackendKind::Iptables ? "iptables" : "nft"; }

// The nft rendering, with tables and chains in name order and the
// create/delete preamble left out, so equal state dumps equal text.
std::string sorted_text(const Plan& plan) {
  Plan sorted = canonical(plan);
  std::sort(sorted.tables.begin(), sorted.tables.end(),
            [](const Table& a, const Table& b) { return a.family < b.family; });
  for (auto& t : sorted.tables)
    std::sort(t.chains.begin(), t.chains.end(),
              [](const Chain& a, const Chain& b) { return a.name < b.name; });
  std::istringstream in(render_nft(sorted));
  std::string out, line;
  while (std::getline(in, line)) {
    bool preamble =
        line.starts_with("delete table ") || (line.starts_with("table ") && line.ends_with(" {}"));
    if (!preamble && !line.empty()) out += line + "\n";
  }
  return out;
}

}  // namespace

std::unique_ptr<NetfilterBackend> fake_netfilter(FakeNamespace& ns, std::string name) {
  return std::make_unique<FakeNetfilter>(ns, std::move(name));
}

std::unique_ptr<RoutingState> fake_routing(FakeNamespace& ns) { return std::make_unique<FakeRouting>(ns); }

std::unique_ptr<Backend> FakeNamespace::backend(BackendKind kind) {
  if (kind == BackendKind::Auto) kind = auto_choice;
  BackendKind other = kind == BackendKind::Iptables ? BackendKind::Nft : BackendKind::Iptables;
  std::vector<std::unique_ptr<NetfilterBackend>> others;
  others.push_back(fake_netfilter(*this, kind_name(other)));
  return compose(fake_netfilter(*this, kind_name(kind)), std::move(others), fake_routing(*this));
}

std::string FakeNamespace::dump() const {
  std::string out;
  for (const auto& [name, held] : tables) out += "# backend " + name + "\n" + sorted_text(held);
  out += sorted_text(routing);
  return out;
}

}  // namespace meshcap::test
