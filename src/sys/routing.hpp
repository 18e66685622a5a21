// meshcap's routing state (src/sys/rtnl.hpp) as the routing half of a
// Backend.
#pragma once

#include <memory>

#include "meshcap/backend.hpp"

namespace meshcap::sys {

// Works in the network namespace the calling thread is in at its first call,
// on one rtnetlink socket kept until it is destroyed (sys::RoutingSession).
std::unique_ptr<RoutingState> make_kernel_routing();

}  // namespace meshcap::sys
