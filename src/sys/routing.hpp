// meshcap's routing state (src/sys/rtnl.hpp) as the routing half of a
// Backend.
#pragma once

#include <memory>

#include "meshcap/backend.hpp"

namespace meshcap::sys {

// Works in the caller's current network namespace.
std::unique_ptr<RoutingState> make_kernel_routing();

}  // namespace meshcap::sys
