// make_plan holds the whole meaning of the capture table (docs/capture.md): pure, no I/O.
#pragma once

#include "meshcap/config.hpp"
#include "meshcap/plan.hpp"

namespace meshcap {

// Builds the plan for a validated config. Ipv6Mode::Auto must have been
// resolved by the caller (it is treated as On here); `family` is ignored.
Plan make_plan(const Config& config);

// The conntrack zones that keep DNS flows apart (docs/capture.md#dns-and-conntrack-zones,
// Istio's 1 and 2).
inline constexpr uint16_t kZoneProxyUpstream = 1;  // the proxy's own queries and their replies
inline constexpr uint16_t kZoneAppQueries = 2;     // apps' queries and the proxy's answers
// Priority of the tproxy policy rule: before the main table (32766).
inline constexpr uint32_t kTproxyRulePriority = 32000;

}  // namespace meshcap
