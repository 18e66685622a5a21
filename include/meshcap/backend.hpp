// A backend translates the netfilter part of a plan into one kernel API.
#pragma once

#include <memory>
#include <string>

#include "meshcap/plan.hpp"
#include "meshcap/result.hpp"

namespace meshcap {

class Backend {
 public:
  virtual ~Backend() = default;
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

// Applies to an in-memory copy, all or nothing; fail_next_apply makes the next
// apply fail as the kernel would, leaving the copy as it was.
class FakeBackend : public Backend {
 public:
  const char* name() const override { return "fake"; }
  Result<void> apply(const Plan& plan) override;
  Result<Plan> observe() override;
  Result<void> remove() override;
  std::string dump() const;  // sorted text of what it holds
  bool fail_next_apply = false;

 private:
  Plan held_;
};

}  // namespace meshcap
