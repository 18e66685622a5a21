// A pure interpreter of the plan: walks a plan's chains the way netfilter
// would for one packet and says which line of the capture table
// (docs/capture.md) decides it and where it lands. It reads only the plan,
// never the Config, so it can check the planner: `meshcap explain`, the
// --verify traffic probe and the real-traffic tests all ask it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "meshcap/net.hpp"
#include "meshcap/plan.hpp"

namespace meshcap {

enum class Direction { Inbound, Outbound };
enum class L4 { Tcp, Udp, Other };  // Other: ICMP and everything else

// The first packet of a connection, as the hooks see it.
struct Packet {
  Direction direction = Direction::Outbound;
  L4 l4 = L4::Tcp;
  Cidr dst;                 // a host address; its family picks the table
  std::optional<Cidr> src;  // unknown: no source-address match holds
  uint16_t sport = 0;
  uint16_t dport = 0;
  std::string iface;  // inbound: the interface it arrives on; outbound: the one it leaves through
  std::optional<uint32_t> uid, gid;  // outbound: the socket's owner; unknown: no owner match holds
  bool invalid = false;              // conntrack placed it in no connection (ct state invalid)
};

// One rule that took part in the decision.
struct Step {
  std::string chain;
  size_t index = 0;  // 0-based position in the chain
  std::string note;  // the rule's reason (empty when the rule is not from the planner)
};

struct Verdict {
  // The capture-table line that decides: "outbound 3", "inbound 4",
  // "outbound 12" (nothing matched), "outbound UDP", "untouched" (not TCP or
  // UDP), "inbound" (arrived on lo: not inbound traffic), or "unplanned rule"
  // when a rule without a note decides (a live rule the planner never made).
  std::string line;
  std::string reason;  // the deciding rule's note, or why nothing decided
  bool captured = false;
  bool dropped = false;          // a drop rule (--drop-invalid) discarded it
  uint16_t port = 0;             // captured: the proxy port it lands on
  bool tproxy = false;           // captured by TPROXY (the local address is the original destination)
  std::optional<uint16_t> zone;  // the conntrack zone a raw chain put it in
  std::vector<Step> path;        // from the base chain's rule down to the deciding one
};

Verdict classify(const Plan& plan, const Packet& packet);

// "outbound 3" from "outbound 3: the proxy ...", or "" when the note names no
// single line of the table.
std::string line_of(const std::string& note);

// One line for people: "outbound 3 → captured to port 15006 (...)".
std::string describe(const Verdict& v);

// A plan read back from the kernel has no notes. Copies each note from the
// rule of `reference` (the plan of the same settings) it comes from: an equal
// rule in the same family and chain, or one whose set it is an expansion of
// (iptables holds one rule per set element).
void annotate(Plan& observed, const Plan& reference);

}  // namespace meshcap
