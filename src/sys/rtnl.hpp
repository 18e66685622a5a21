// meshcap's routing state, over rtnetlink: the tproxy policy rules and local
// routes, and the ::6 passthrough address on lo (the non-netfilter part of a
// Plan). All functions work in the caller's current network namespace.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "meshcap/plan.hpp"
#include "meshcap/result.hpp"

namespace meshcap::sys {

// The FRA_PROTOCOL / rtm_protocol value on every rule and route meshcap
// creates, so that observe and cleanup touch exactly ours and never a rule a
// CNI plugin or an admin added. 0x9a (154) is in neither the kernel's RTPROT_*
// list nor iproute2's rt_protos; `ip rule` and `ip route` show it as
// "proto 154". The ::6 meshcap adds to lo carries it as IFA_PROTO (kernel
// 5.18 and later keep it; `ip address` shows "proto 0x9a").
inline constexpr uint8_t kRtProtoMeshcap = 0x9a;

// What one apply_sys() call changed, so that rollback() can undo exactly that
// and nothing else.
struct SysUndo {
  std::vector<PolicyRule> added_rules;
  std::vector<LocalRoute> added_routes;
  std::vector<LoAddress> added_addresses;
  std::vector<PolicyRule> removed_rules;
  std::vector<LocalRoute> removed_routes;
  bool empty() const;
};

// The functions below, on one rtnetlink socket: opened on first use in the
// network namespace of the calling thread and kept until the session ends,
// with lo's interface index asked of the kernel once. A run's apply, undo and
// read-back share one session (sys::make_kernel_routing()); each free
// function below is a session of its own.
class RoutingSession {
 public:
  RoutingSession();
  ~RoutingSession();
  RoutingSession(RoutingSession&&) noexcept;
  RoutingSession& operator=(RoutingSession&&) noexcept;

  Result<SysUndo> apply(const Plan& plan);     // apply_sys()
  Result<void> rollback(const SysUndo& undo);  // rollback()
  Result<Plan> observe();                      // observe_sys()
  Result<void> remove();                       // remove_sys()

  struct Link;  // the socket and what it learnt (src/sys/rtnl.cpp)

 private:
  Result<Link*> link();
  std::unique_ptr<Link> link_;
};

// Converges meshcap's rules and routes on plan.policy_rules and
// plan.local_routes: adds what is missing, deletes meshcap-tagged ones the
// plan no longer has (a switch from tproxy to redirect, a new table number),
// and leaves one copy of each. Adds each of plan.lo_addresses to lo unless
// that address is already there, with any prefix.
// Idempotent. On error it undoes its own changes before returning, so the
// kernel holds what it held before (ErrorKind::Kernel).
Result<SysUndo> apply_sys(const Plan& plan);

// Undoes one successful apply_sys(), e.g. when the netfilter commit that
// follows it fails. Things already gone (or already back) are not errors.
Result<void> rollback(const SysUndo& undo);

// The meshcap-tagged policy rules and local routes in the kernel, and ::6/128
// as a LoAddress when lo has ::6, shaped like make_plan()'s output (only
// policy_rules, local_routes and lo_addresses are filled; V4 before V6).
Result<Plan> observe_sys();

// Deletes every meshcap-tagged rule and route, and ::6 from lo when it carries
// IFA_PROTO kRtProtoMeshcap (meshcap added it); nothing to delete is success.
// An untagged ::6 stays: it may predate meshcap (the proxy's own setup adds it
// too, and so did meshcap 0.1.0), and left behind it is harmless: a host
// address on lo that nothing routes to unless a rule asks for it.
Result<void> remove_sys();

}  // namespace meshcap::sys
