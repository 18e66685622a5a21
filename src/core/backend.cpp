#include "meshcap/backend.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace meshcap {

namespace {

// Routing state alone is inert (its rules only route packets the tables
// mark), so it goes first on the way in and last on the way out: a run
// stopped between the two steps leaves nothing that changes traffic.
class Composed final : public Backend {
 public:
  Composed(std::unique_ptr<NetfilterBackend> netfilter, std::vector<std::unique_ptr<NetfilterBackend>> others,
           std::unique_ptr<RoutingState> routing)
      : netfilter_(std::move(netfilter)), others_(std::move(others)), routing_(std::move(routing)) {}

  const char* name() const override { return netfilter_->name(); }

  Result<void> apply(const Plan& plan) override {
    undo_ = std::nullopt;
    // What undo() puts back. Tables meshcap cannot read back (edited by hand)
    // are removed instead: the plan never held them.
    std::optional<Plan> before;
    if (auto held = netfilter_->observe()) before = std::move(*held);
    if (auto ok = routing_->apply(plan); !ok) return ok;
    if (auto ok = netfilter_->apply(plan); !ok) {
      if (auto undone = routing_->undo(); !undone)
        return fail(ok.error().kind, ok.error().message + "; rolling back the routing state failed too: " +
                                         undone.error().message);
      return ok;
    }
    undo_ = Undo{std::move(before)};
    return {};
  }

  Result<void> undo() override {
    if (!undo_) return {};
    Undo undo = std::move(*undo_);
    undo_ = std::nullopt;
    auto tables =
        undo.tables && !undo.tables->tables.empty() ? netfilter_->apply(*undo.tables) : netfilter_->remove();
    if (!tables) return tables;
    return routing_->undo();
  }

  Result<Plan> observe() override {
    auto held = netfilter_->observe();
    if (!held) return held;
    auto routing = routing_->observe();
    if (!routing) return routing;
    held->policy_rules = std::move(routing->policy_rules);
    held->local_routes = std::move(routing->local_routes);
    held->lo_addresses = std::move(routing->lo_addresses);
    return held;
  }

  Result<void> remove() override {
    if (auto ok = netfilter_->remove(); !ok) return ok;
    return routing_->remove();
  }

  Plan held_form(const Plan& plan) const override { return netfilter_->held_form(plan); }

  Result<std::vector<Stray>> strays() override {
    std::vector<Stray> found;
    for (auto& other : others_) {
      auto held = other->observe();
      if (!held)
        found.push_back(Stray{other->name(), {}, held.error().message});
      else if (!held->tables.empty())
        found.push_back(Stray{other->name(), std::move(*held), {}});
    }
    return found;
  }

  Result<void> remove_strays(const std::vector<Stray>& found) override {
    for (auto& other : others_) {
      bool holds = std::any_of(found.begin(), found.end(), [&](const Stray& s) {
        return s.backend == other->name() && s.unreadable.empty();
      });
      if (holds)
        if (auto ok = other->remove(); !ok) return ok;
    }
    return {};
  }

 private:
  struct Undo {
    std::optional<Plan> tables;  // nullopt: unreadable, remove them
  };
  std::unique_ptr<NetfilterBackend> netfilter_;
  std::vector<std::unique_ptr<NetfilterBackend>> others_;
  std::unique_ptr<RoutingState> routing_;
  std::optional<Undo> undo_;
};

}  // namespace

std::unique_ptr<Backend> compose(std::unique_ptr<NetfilterBackend> netfilter,
                                 std::vector<std::unique_ptr<NetfilterBackend>> others,
                                 std::unique_ptr<RoutingState> routing) {
  return std::make_unique<Composed>(std::move(netfilter), std::move(others), std::move(routing));
}

}  // namespace meshcap
