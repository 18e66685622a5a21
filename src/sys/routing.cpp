#include "sys/routing.hpp"

#include <optional>

#include "sys/rtnl.hpp"

namespace meshcap::sys {

namespace {

class KernelRouting final : public RoutingState {
 public:
  Result<void> apply(const Plan& plan) override {
    last_ = std::nullopt;
    auto undo = apply_sys(plan);
    if (!undo) return tl::unexpected(undo.error());
    last_ = std::move(*undo);
    return {};
  }

  Result<void> undo() override {
    if (!last_) return {};
    SysUndo undo = std::move(*last_);
    last_ = std::nullopt;
    return rollback(undo);
  }

  Result<Plan> observe() override { return observe_sys(); }

  Result<void> remove() override { return remove_sys(); }

 private:
  std::optional<SysUndo> last_;
};

}  // namespace

std::unique_ptr<RoutingState> make_kernel_routing() { return std::make_unique<KernelRouting>(); }

}  // namespace meshcap::sys
