// The legacy iptables backend: libiptc (libip4tc / libip6tc) table handles.
#pragma once

#include <memory>

#include "meshcap/backend.hpp"

namespace meshcap {

// apply() writes the MESHCAP_* chains of the expanded plan (expand_sets) into
// the nat / mangle / raw tables of both families, with exactly one jump from
// each hooked built-in chain, and removes meshcap's chains from tables and
// families the plan no longer uses; each table is one atomic commit, and a
// failed commit puts the tables committed before it back as they were.
// observe() reads the MESHCAP_* chains back; remove() deletes them and their
// jumps everywhere, absent or not. All three hold /run/xtables.lock.
std::unique_ptr<NetfilterBackend> make_iptables_backend();

}  // namespace meshcap
