// The backend-neutral plan: what meshcap wants the kernel to hold.
// make_plan() gives it meaning; renderers and backends only translate it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "meshcap/net.hpp"

namespace meshcap {

enum class Proto : uint8_t { Tcp = 6, Udp = 17 };
const char* proto_name(Proto p);  // "tcp", "udp": as nft and iptables' -p write it

// Matches. Each holds its values. A match whose `set` is non-empty is a lookup
// in the named set of that name (nft `@name`; iptables expands it); otherwise
// it holds exactly one exact value (no range, no prefix) and is a plain
// comparison. The planner decides which, so the renderers and the netlink
// backend encode every match the same way.
struct IifMatch {
  std::vector<std::string> names;
  std::string set;
  friend bool operator==(const IifMatch&, const IifMatch&) = default;
};
struct OifMatch {
  std::vector<std::string> names;
  std::string set;
  friend bool operator==(const OifMatch&, const OifMatch&) = default;
};
struct ProtoMatch {  // meta l4proto; not combined with a port match (which implies it)
  Proto proto;
  friend bool operator==(const ProtoMatch&, const ProtoMatch&) = default;
};
struct PortMatch {
  Proto proto;
  bool source = false;  // sport instead of dport
  std::vector<PortRange> ports;
  std::string set;
  friend bool operator==(const PortMatch&, const PortMatch&) = default;
};
struct AddrMatch {
  bool source = false;  // saddr instead of daddr
  std::vector<Cidr> cidrs;
  std::string set;
  friend bool operator==(const AddrMatch&, const AddrMatch&) = default;
};
struct OwnerMatch {
  bool gid = false;  // skgid instead of skuid
  std::vector<uint32_t> ids;
  std::string set;
  friend bool operator==(const OwnerMatch&, const OwnerMatch&) = default;
};
// The packet's conntrack state (nft `ct state`, iptables `-m state --state`).
// Only INVALID is planned: a packet conntrack could not place in any
// connection never reaches a NAT chain, so it must be judged in a filter or
// mangle hook.
enum class CtState : uint8_t { Invalid };
struct CtStateMatch {
  CtState state = CtState::Invalid;
  friend bool operator==(const CtStateMatch&, const CtStateMatch&) = default;
};
using Match = std::variant<IifMatch, OifMatch, ProtoMatch, PortMatch, AddrMatch, OwnerMatch, CtStateMatch>;

// Actions; each rule has exactly one.
struct ReturnAction {
  friend bool operator==(const ReturnAction&, const ReturnAction&) = default;
};
struct JumpAction {
  std::string chain;
  friend bool operator==(const JumpAction&, const JumpAction&) = default;
};
struct RedirectAction {  // NAT REDIRECT to a local port
  uint16_t port;
  friend bool operator==(const RedirectAction&, const RedirectAction&) = default;
};
struct TproxyAction {  // TPROXY to a local port, set the mark, accept
  uint16_t port;
  uint32_t mark;
  friend bool operator==(const TproxyAction&, const TproxyAction&) = default;
};
struct CtZoneAction {  // put the connection in a conntrack zone; not terminal
  uint16_t zone;
  friend bool operator==(const CtZoneAction&, const CtZoneAction&) = default;
};
struct DropAction {  // drop the packet (--drop-invalid)
  friend bool operator==(const DropAction&, const DropAction&) = default;
};
using Action = std::variant<ReturnAction, JumpAction, RedirectAction, TproxyAction, CtZoneAction, DropAction>;

struct Rule {
  std::vector<Match> matches;
  Action action;
  std::string note;  // why the rule exists (its line of docs/capture.md); rendered as a comment, never programmed
  friend bool operator==(const Rule& a, const Rule& b) {
    return a.matches == b.matches && a.action == b.action;  // notes never reach the kernel
  }
};

// Where a chain lives: the iptables table, and the nft chain type and priority.
enum class ChainKind { Nat, Mangle, Raw };
const char* chain_kind_name(ChainKind k);  // "nat", "mangle", "raw": also the iptables table
enum class Hook { Prerouting, Output };
const char* hook_name(Hook h);  // "prerouting", "output"

struct Chain {
  std::string name;  // nft: as is ("output"); iptables: "MESHCAP_" + upper case
  ChainKind kind = ChainKind::Nat;
  std::optional<Hook> hook;  // base chain when set
  std::vector<Rule> rules;
  friend bool operator==(const Chain&, const Chain&) = default;
};

enum class SetType { Ifname, Ipv4Addr, Ipv6Addr, InetService, Uid, Gid };
const char* set_type_name(SetType t);  // nft's: "ifname", "ipv4_addr", ...

// A named set as nft holds it, derived from the matches that name it (the
// plan stores each list once, in its match).
struct NamedSet {
  std::string name;
  SetType type;
  bool interval = false;  // any element is a port range or a prefix shorter than the address
  Match match;            // the first match naming it; holds the elements
  friend bool operator==(const NamedSet&, const NamedSet&) = default;
};

// One family's netfilter state: nft `table ip|ip6 meshcap`, or the MESHCAP_*
// chains in iptables/ip6tables plus one jump from each hooked built-in chain.
struct Table {
  Family family;
  std::vector<Chain> chains;  // base chains first, in a stable order
  friend bool operator==(const Table&, const Table&) = default;
};

// Non-netfilter state for tproxy and IPv6 passthrough.
struct PolicyRule {  // ip rule add fwmark MARK lookup TABLE priority PRIO
  Family family;
  uint32_t fwmark;
  uint32_t table;
  uint32_t priority;
  friend bool operator==(const PolicyRule&, const PolicyRule&) = default;
};
struct LocalRoute {  // ip route add local default dev lo table TABLE
  Family family;
  uint32_t table;
  friend bool operator==(const LocalRoute&, const LocalRoute&) = default;
};
struct LoAddress {  // ip addr add ::6/128 dev lo (left alone when already there)
  Cidr address;
  friend bool operator==(const LoAddress&, const LoAddress&) = default;
};

struct Plan {
  std::vector<Table> tables;  // V4 first, then V6 when enabled
  std::vector<PolicyRule> policy_rules;
  std::vector<LocalRoute> local_routes;
  std::vector<LoAddress> lo_addresses;
  friend bool operator==(const Plan&, const Plan&) = default;
};

inline constexpr const char* kTableName = "meshcap";
// The iptables chain name for a plan chain: "output" -> "MESHCAP_OUTPUT"
// (defined with the rest of the iptables naming, meshcap/lower_iptables.hpp).
std::string iptables_chain_name(const std::string& chain);

// Every named set of a table, once each, in order of first use.
std::vector<NamedSet> named_sets(const Table& table);

}  // namespace meshcap
