// The plan lowered to what iptables holds: no named sets, one value per
// match, chains under their iptables names, the jumps from built-in chains
// and TPROXY's new-connection guard written out. render_iptables prints this
// form, the libiptc backend programs it and reads it back into it, and
// lift_iptables turns it back into a plan, so the three cannot drift apart.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshcap/plan.hpp"
#include "meshcap/result.hpp"

namespace meshcap {

// The mark on every jump meshcap adds to a built-in chain:
// `-m comment --comment meshcap`. Part of the ownership contract
// (docs/commands.md): a jump to one of meshcap's chains without it was left by
// release 0.1.0, which wrote bare jumps.
inline constexpr const char* kIptablesJumpComment = "meshcap";

// Every iptables chain name any release of meshcap created, and only those:
// a chain is meshcap's when its name is in this list, whatever else shares the
// MESHCAP_ prefix. "MESHCAP_TPROXY" is retired (an early 0.1.0 build named
// the mangle chain so); cleanup still removes it.
const std::vector<std::string>& iptables_owned_chains();
bool iptables_owned_chain(std::string_view name);
// The plan chain an owned iptables chain stands for ("MESHCAP_OUTPUT" ->
// "output"); nullopt for a name meshcap never created.
std::optional<std::string> plan_chain_name(std::string_view iptables_name);

const char* iptables_tool(Family family);        // iptables, ip6tables: for messages
const char* iptables_builtin_chain(Hook hook);    // PREROUTING, OUTPUT

// A rule as one iptables entry holds it. Every match holds exactly one value
// and no set (or, with ipsets, names one ipset: see lower_iptables), in entry
// order (-s, -d, -i, -o, a bare -p, then the extensions in plan order); an
// address match of a whole family (/0) is left out, because the kernel
// stores a zero mask as "any" and reads back no address at all.
// A JumpAction names the iptables chain ("MESHCAP_INBOUND").
struct IptRule {
  std::vector<Match> matches;
  // `-m state --state NEW`, the last match. Set on every TPROXY rule: nft's
  // tproxy leaves a packet of a non-transparent socket alone (the reply to
  // one of the pod's own outbound connections), iptables' TPROXY would divert
  // and so drop it; later packets of a diverted connection reach their socket
  // by the normal lookup.
  bool new_only = false;
  Action action;
  std::string note;  // the plan rule's note, on the first of its copies only
  friend bool operator==(const IptRule& a, const IptRule& b) {
    return a.matches == b.matches && a.new_only == b.new_only && a.action == b.action;
  }
};

struct IptChain {
  std::string name;  // "MESHCAP_OUTPUT"
  std::vector<IptRule> rules;
  friend bool operator==(const IptChain&, const IptChain&) = default;
};

// `-A BUILTIN -m comment --comment meshcap -j CHAIN`
struct IptJump {
  std::string builtin;  // "PREROUTING" / "OUTPUT"
  std::string chain;
  friend bool operator==(const IptJump&, const IptJump&) = default;
};

// One family's table of one kind: what one iptables-restore section (and one
// libiptc commit) holds of meshcap's.
struct IptTable {
  Family family;
  ChainKind kind;
  std::vector<IptChain> chains;  // declaration order
  std::vector<IptJump> jumps;    // in the order they are appended
  friend bool operator==(const IptTable&, const IptTable&) = default;
};

// Only tables holding a chain, IPv4 before IPv6, nat before mangle before raw.
struct IptRuleset {
  std::vector<IptTable> tables;
  friend bool operator==(const IptRuleset&, const IptRuleset&) = default;
};

// A list of more CIDRs or port ranges than this becomes one ipset and one
// `-m set --match-set` rule when ipsets are usable (docs/benchmarks.md, "Data
// path"): a new connection pays ~16 ns per expanded rule, so 100 rules
// already cost ~1.6 us more than a set lookup would (~5 us measured with the
// rest of the chain), while below ~64 rules (~1 us) the difference is lost
// in the noise of a connection's cost. Smaller lists stay expanded, exactly
// as without ipsets.
inline constexpr size_t kIpsetThreshold = 64;

// Every ipset meshcap creates is named with one of these prefixes (IPv4,
// IPv6), and every set so named is meshcap's (docs/ownership.md).
inline constexpr std::string_view kIpsetPrefix4 = "meshcap4-";
inline constexpr std::string_view kIpsetPrefix6 = "meshcap6-";
// The longest name the kernel takes (IPSET_MAXNAMELEN less the NUL).
inline constexpr size_t kIpsetMaxName = 31;
// The iptables backend writes each set under its name or under its name plus
// one of these suffixes, whichever the rules do not use yet, so that one
// table commit switches from the old set to the new one. Two, because one
// set can serve two tables (nat and raw: the DNS servers), and a run stopped
// between their commits leaves both using a different one.
inline constexpr std::string_view kIpsetAltSuffixes[] = {"-b", "-c"};
inline constexpr size_t kIpsetSuffixLength = 2;
// The names a set may be written under: its own first, then the others.
std::vector<std::string> ipset_written_names(const std::string& name);
bool ipset_owned(std::string_view name);
// The ipset for a plan set of a family: "exclude_outbound_cidrs" ->
// "meshcap4-x_out_cidrs"; at most kIpsetMaxName less the suffix.
std::string ipset_name(Family family, const std::string& plan_set);
// The name a set written under either of its names stands for.
std::string ipset_base_name(std::string_view name);

// What the iptables backend declares when it creates a hash:net of n
// elements, so the kernel allocates its table once: a bucket per element at
// most (a bucket holds several before the kernel grows the table), and room
// for at least the kernel's default number of elements.
inline uint32_t ipset_hashsize(size_t n) {
  uint32_t size = 64;
  while (size < n && size < (1u << 30)) size <<= 1;
  return size;
}
inline uint32_t ipset_maxelem(size_t n) {
  return n > 65536 ? static_cast<uint32_t>(std::min<size_t>(n, UINT32_MAX)) : 65536;
}

struct IptOptions {
  bool ipsets = false;  // large lists become ipsets (kIpsetThreshold)
};

// An ipset of a lowered ruleset: a hash:net of the AddrMatch's CIDRs or a
// bitmap:port of the PortMatch's ranges (sorted, merged).
struct IptSet {
  std::string name;
  Family family;
  Match match;
  friend bool operator==(const IptSet&, const IptSet&) = default;
};

// Expands every set (one rule per element; the cross product when a rule has
// several; the planner keeps set elements disjoint, so a packet meets at most
// one copy and even a jump keeps its meaning). Linear in the output size.
// With options.ipsets, an address or port list of more than kIpsetThreshold
// elements stays one match instead, whose `set` names its ipset (an
// extension, placed as the other -m matches); not lists of a /0, which
// hash:net cannot hold, nor uid, gid or interface lists.
IptRuleset lower_iptables(const Plan& plan, IptOptions options = {});

// Whether the plan has a list long enough that lowering it with ipsets might
// make one: the iptables backend asks the kernel about ipsets only then.
bool ipset_candidates(const Plan& plan);

// The ipsets a lowered ruleset's rules name, once each, in order of use.
std::vector<IptSet> iptables_sets(const IptRuleset& ruleset);

// The plan's netfilter tables that a ruleset stands for, chains in a fixed
// order, one rule per entry, every value single: what observe() of the
// iptables backend returns. Fails (ErrorKind::Verify) on what lower_iptables
// never produces: a jump to or from an unknown chain, a second jump to a
// chain, a new-connection guard on a rule that is not TPROXY or a TPROXY rule
// without one.
Result<Plan> lift_iptables(IptRuleset ruleset);

// lift_iptables(lower_iptables(plan)) plus the plan's non-netfilter state:
// the plan in the form the iptables backend reads it back.
Plan iptables_held_form(const Plan& plan, IptOptions options = {});

}  // namespace meshcap
