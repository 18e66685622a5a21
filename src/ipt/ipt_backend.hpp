// The legacy iptables backend: libiptc (libip4tc / libip6tc) table handles.
#pragma once

#include <memory>

#include "meshcap/backend.hpp"

namespace meshcap {

// apply() writes the lowered plan (lower_iptables) into the nat / mangle / raw
// tables of both families, with exactly one marked jump from each hooked
// built-in chain, and removes meshcap's chains from tables and families the
// plan no longer uses; each table is one atomic commit, and a failed commit
// puts the tables committed before it back as they were. Commits go in an
// order (per family: tables gaining meshcap's chains, then changed ones, then
// emptied ones) that handles each connection exactly as under the old or the
// new plan after any of them; a run killed between two commits may leave
// one family, or one direction, switched before the other. observe() reads
// meshcap's chains back and lifts them (lift_iptables); remove() deletes them
// and the jumps to them everywhere, absent or not. meshcap's chains are
// exactly iptables_owned_chains(): nothing else is read, changed or removed.
// All three hold /run/xtables.lock: each call takes and releases it
// (PerCall), or the first call takes it and the backend keeps it until it is
// destroyed (ForLifetime: one meshcap command, so the pre-apply observation,
// the apply, the read-back and any undo see no iptables command in between,
// and the lock and the list of tables are taken and read once). Backends
// alive at the same time in one process share one hold of the lock. With
// `ipsets`, large lists become ipsets where the kernel has them
// (lower_iptables, ipt/sets.hpp); meshcap's sets are read back, and destroyed
// with the rules, in any case. Every apply() and remove() destroys meshcap's
// sets that no rule uses (a stopped run's), whatever the plan's lists, and
// observe() shows each as a chain "ipset NAME (no rule uses it)", which no
// plan holds.
enum class XtablesLockHold { PerCall, ForLifetime };
std::unique_ptr<NetfilterBackend> make_iptables_backend(XtablesLockHold hold = XtablesLockHold::PerCall,
                                                        bool ipsets = true);

}  // namespace meshcap
