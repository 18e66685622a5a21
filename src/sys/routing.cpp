#include "sys/routing.hpp"

#include <optional>

#include "sys/rtnl.hpp"

namespace meshcap::sys {

namespace {

class KernelRouting final : public RoutingState {
 public:
  Result<void> apply(const Plan& plan) override {
    last_ = std::nullopt;
    auto undo = session_.apply(plan);
    if (!undo) return tl::unexpected(undo.error());
    last_ = std::move(*undo);
    return {};
  }

  Result<void> undo() override {
    if (!last_) return {};
    SysUndo undo = std::move(*last_);
    last_ = std::nullopt;
    return session_.rollback(undo);
  }

  Result<Plan> observe() override { return session_.observe(); }

  Result<void> remove() override { return session_.remove(); }

 private:
  RoutingSession session_;  // one rtnetlink socket for the run
  std::optional<SysUndo> last_;
};

}  // namespace

std::unique_ptr<RoutingState> make_kernel_routing() { return std::make_unique<KernelRouting>(); }

}  // namespace meshcap::sys
