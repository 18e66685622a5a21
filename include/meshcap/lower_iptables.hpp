// The plan lowered to what iptables holds: no named sets, one value per
// match, chains under their iptables names, the jumps from built-in chains
// and TPROXY's new-connection guard written out. render_iptables prints this
// form, the libiptc backend programs it and reads it back into it, and
// lift_iptables turns it back into a plan, so the three cannot drift apart.
#pragma once

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
// and no set, in entry order (-s, -d, -i, -o, a bare -p, then the extensions
// in plan order); an address match of a whole family (/0) is left out, because
// the kernel stores a zero mask as "any" and reads back no address at all.
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

// Expands every set (one rule per element; the cross product when a rule has
// several; the planner keeps set elements disjoint, so a packet meets at most
// one copy and even a jump keeps its meaning). Linear in the output size.
IptRuleset lower_iptables(const Plan& plan);

// The plan's netfilter tables that a ruleset stands for, chains in a fixed
// order, one rule per entry, every value single: what observe() of the
// iptables backend returns. Fails (ErrorKind::Verify) on what lower_iptables
// never produces: a jump to or from an unknown chain, a second jump to a
// chain, a new-connection guard on a rule that is not TPROXY or a TPROXY rule
// without one.
Result<Plan> lift_iptables(const IptRuleset& ruleset);

// lift_iptables(lower_iptables(plan)) plus the plan's non-netfilter state:
// the plan in the form the iptables backend reads it back.
Plan iptables_held_form(const Plan& plan);

}  // namespace meshcap
