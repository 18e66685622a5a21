// A backend holds everything meshcap owns in a network namespace: the
// netfilter tables of a plan, through one kernel API, and the routing state
// (tproxy policy rules, local routes, the ::6 address on lo). It is always the
// one composition below, so the order of a transaction is written once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "meshcap/plan.hpp"
#include "meshcap/result.hpp"

namespace meshcap {

// The netfilter half: plan.tables through one kernel API (nft, iptables).
class NetfilterBackend {
 public:
  virtual ~NetfilterBackend() = default;
  virtual const char* name() const = 0;
  // Replaces meshcap's tables with plan.tables in one atomic step: afterwards
  // the kernel holds exactly the new rules, or (on error) exactly what it held.
  virtual Result<void> apply(const Plan& plan) = 0;
  // What the kernel holds of meshcap's, as a plan (tables only).
  virtual Result<Plan> observe() = 0;
  // Removes meshcap's tables; nothing to remove is success.
  virtual Result<void> remove() = 0;
  // The plan in the form this backend holds it, which is what observe()
  // returns after a successful apply(plan): nft holds named sets as they are;
  // iptables has no sets and holds one rule per element.
  virtual Plan held_form(const Plan& plan) const { return plan; }
};

// The routing half: plan.policy_rules, plan.local_routes, plan.lo_addresses.
class RoutingState {
 public:
  virtual ~RoutingState() = default;
  // Converges on the plan's routing state; on error it has changed nothing.
  virtual Result<void> apply(const Plan& plan) = 0;
  // Undoes what the last successful apply() changed, and nothing else.
  virtual Result<void> undo() = 0;
  // Only policy_rules, local_routes and lo_addresses are filled.
  virtual Result<Plan> observe() = 0;
  // Removes meshcap's rules and routes; nothing to remove is success.
  virtual Result<void> remove() = 0;
};

// meshcap's state held by a netfilter backend other than the one in use
// (e.g. legacy iptables chains left from a run with --backend iptables).
struct Stray {
  std::string backend;     // "nft", "iptables"
  Plan held;               // its tables, as that backend holds them
  std::string unreadable;  // why that backend could not be read (held is then empty)
};

// The whole plan, one transaction.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Routing first, then the netfilter commit; when the commit fails the
  // routing change is rolled back, so on error the namespace holds what it
  // held before (ErrorKind::Kernel for a refusal).
  virtual Result<void> apply(const Plan& plan) = 0;
  // Puts back what the last successful apply() changed: the routing state
  // and the tables as they were before it (a failed verification).
  virtual Result<void> undo() = 0;
  // Tables and routing state, as the namespace holds them.
  virtual Result<Plan> observe() = 0;
  // Removes all of meshcap's state from this backend and the routing.
  virtual Result<void> remove() = 0;
  // held_form of the netfilter backend; routing state is held as planned.
  virtual Plan held_form(const Plan& plan) const = 0;
  // meshcap's tables in the other netfilter backends, one Stray per backend
  // that holds any or that could not be read: a process may lack what only
  // the other backend needs (legacy iptables wants CAP_NET_RAW, nft does not),
  // and that must not stop a run that needs nothing from it.
  virtual Result<std::vector<Stray>> strays() = 0;
  // Removes meshcap's tables from the other backends `found` (by strays())
  // holds them in; unreadable ones are left alone.
  virtual Result<void> remove_strays(const std::vector<Stray>& found) = 0;
};

// The one Backend: `netfilter` is the backend in use, `others` are the ones
// whose meshcap state strays()/remove_strays() look at.
std::unique_ptr<Backend> compose(std::unique_ptr<NetfilterBackend> netfilter,
                                 std::vector<std::unique_ptr<NetfilterBackend>> others,
                                 std::unique_ptr<RoutingState> routing);

}  // namespace meshcap
