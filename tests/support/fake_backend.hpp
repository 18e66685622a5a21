// Test support: an in-memory network namespace behind the real Backend
// composition (meshcap::compose), so unit tests drive apply -> verify ->
// rollback without root. It holds what each netfilter backend holds and the
// routing state, and fails on request the way the kernel would.
#pragma once

#include <map>
#include <set>
#include <memory>
#include <string>

#include "meshcap/backend.hpp"
#include "meshcap/config.hpp"

namespace meshcap::test {

struct FakeNamespace {
  std::map<std::string, Plan> tables;  // by backend name ("nft", "iptables"); tables only
  Plan routing;                        // policy_rules, local_routes, lo_addresses only

  // Injected failures; each fires once.
  bool refuse_next_commit = false;          // the next netfilter apply fails (ErrorKind::Kernel)
  bool refuse_next_routing = false;         // the next routing apply fails (ErrorKind::Kernel)
  bool lose_a_rule_on_next_commit = false;  // the commit succeeds but its last rule is missing
  std::set<std::string> unreadable;         // backends whose observe() fails (no CAP_NET_RAW)
  int applies = 0;                          // netfilter applies that changed something

  // What `--backend auto` resolves to.
  BackendKind auto_choice = BackendKind::Nft;

  // The composed Backend using `kind`, with the other kind as the stray one.
  std::unique_ptr<Backend> backend(BackendKind kind);
  // Sorted text of everything held, per backend, then the routing state.
  std::string dump() const;
};

// The two halves, for tests of the halves themselves.
std::unique_ptr<NetfilterBackend> fake_netfilter(FakeNamespace& ns, std::string name);
std::unique_ptr<RoutingState> fake_routing(FakeNamespace& ns);

}  // namespace meshcap::test
