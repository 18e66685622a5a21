// What `--backend auto` asks of the namespace (docs/commands.md): is
// nf_tables there, and does someone already use legacy iptables in it?
// Both answers come from the kernel's own interfaces, with nothing created.
#pragma once

#include <optional>
#include <string>

#include "meshcap/result.hpp"

namespace meshcap::sys {

// False when the kernel answers nfnetlink's nf_tables subsystem with "not
// supported" (no nf_tables in this kernel), or has no nfnetlink at all.
bool nf_tables_available();

// The first IPv4/IPv6 legacy nat, mangle, raw or filter table of the current
// network namespace that holds a rule or chain which is not meshcap's, named
// like "ip6 filter"; nullopt when there is none. meshcap's own are the chains
// it creates (iptables_owned_chains(), not whatever shares their MESHCAP_
// prefix) and the jumps to them from built-in chains. Only tables
// listed in /proc/net/ip{,6}_tables_names are read: asking the kernel about
// any other one would create it.
Result<std::optional<std::string>> legacy_iptables_user();

}  // namespace meshcap::sys
