// Small probes of the current namespace and process, used to choose what to
// program and to explain failures.
#pragma once

namespace meshcap::sys {

// The one way forward for EPERM from the kernel, appended to its message.
inline constexpr const char* kNeedsNetAdmin =
    "meshcap needs CAP_NET_ADMIN (run it as root or add the NET_ADMIN capability)";

// True when IPv6 can carry captured traffic in the current network namespace:
// /proc/sys/net/ipv6 exists (no ipv6.disable=1 on the kernel command line),
// conf/all/disable_ipv6 is 0, and conf/lo/disable_ipv6 is 0. `lo` counts
// because IPv6 capture needs it: REDIRECT of the pod's own connections goes to
// ::1, tproxy's local route and the ::6 passthrough address live on lo, and
// the kernel refuses addresses on a device with IPv6 disabled. Writing `all`
// propagates to every device, so `lo` differs only when someone set it alone.
// /proc/sys/net follows the namespace of the thread that opens it, so call
// this after enter_netns().
bool ipv6_enabled();

}  // namespace meshcap::sys
