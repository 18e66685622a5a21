// Canonical text forms of a plan: dry-run output, golden files, and the
// language of readable diffs.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "meshcap/plan.hpp"

namespace meshcap {

// One script for `nft -f`: replaces meshcap's own tables atomically and
// touches nothing else. The non-netfilter state follows as `ip` commands in a
// marked comment section ("# ip ..." lines). A family without a table in the
// plan has its meshcap table deleted, unless `only` selects the other family
// (then that family is left alone).
std::string render_nft(const Plan& plan, std::optional<Family> only = std::nullopt);

// Input for iptables-restore / ip6tables-restore (use --noflush to keep other
// chains): only MESHCAP_* chains plus one jump per hooked built-in chain.
// Both families, each in its own marked section, unless `only` selects one.
// With `ipsets`, lists the iptables backend would keep in ipsets (see
// lower_iptables) are `-m set` matches, and the sets come first, in their own
// marked section, as input for `ipset -exist restore`.
std::string render_iptables(const Plan& plan, std::optional<Family> only = std::nullopt, bool ipsets = false);

// The plan as data.
nlohmann::json render_json(const Plan& plan);

}  // namespace meshcap
