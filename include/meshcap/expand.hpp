// The plan as iptables can hold it: no named sets, one value per match.
#pragma once

#include "meshcap/plan.hpp"

namespace meshcap {

// Every rule whose matches name sets becomes one rule per element (the cross
// product when it has several), each match holding exactly one value (a port
// range or a CIDR prefix is still one value) and no set name. The planner
// keeps set elements disjoint, so a packet meets at most one copy and the
// expansion keeps the rule's meaning even when its action is a jump.
//
// Matches are also put in the order an iptables entry holds them: -s, -d,
// -i, -o, a bare -p, then the match extensions (ports, owner) in plan order.
// That is the order iptables-save prints and the order a dump reads back, so
// render_iptables and the libiptc backend can both work from this form.
// The rule's note goes with its first copy only, so a rendering prints the
// reason once per group. Non-netfilter state is copied unchanged.
Plan expand_sets(const Plan& plan);

}  // namespace meshcap
