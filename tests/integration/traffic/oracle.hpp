// The capture suite's oracle: where each probe must land comes from the
// plan's interpreter (meshcap/interpret.hpp) applied to the plan of the
// scenario's settings, not from a second hand-written copy of the capture
// table. The interpreter itself is checked against a hand-written table once,
// in tests/unit/interpret_test.cpp; a few probes here keep hand-written
// expectations too, and must agree with the interpreter.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "integration/traffic/probes.hpp"
#include "integration/traffic/topology.hpp"
#include "meshcap/interpret.hpp"
#include "meshcap/planner.hpp"

namespace meshcap::traffic {

// The plan `meshcap apply` makes for these settings flags; "" in *error when
// they parse.
inline Plan scenario_plan(const std::vector<std::string>& flags, std::string* error) {
  std::vector<std::string> words = {"meshcap", "apply"};
  for (const auto& f : flags) {
    if (!f.empty() && f.back() == '=') {  // "--flag=": an empty value, as the shell passes it
      words.push_back(f.substr(0, f.size() - 1));
      words.emplace_back("");
    } else {
      words.push_back(f);
    }
  }
  std::vector<const char*> argv;
  for (const auto& w : words) argv.push_back(w.c_str());
  auto inv = app::parse_command_line(static_cast<int>(argv.size()), argv.data(), {});
  if (!inv) {
    *error = inv.error().message;
    return {};
  }
  auto config = parse_config(inv->raw);
  if (!config) {
    *error = config.error().message;
    return {};
  }
  if (config->ipv6 == Ipv6Mode::Auto) config->ipv6 = Ipv6Mode::On;
  return make_plan(*config);
}

inline bool pod_side(Addr a) {
  return a == Addr::Pod0 || a == Addr::Pod1 || a == Addr::Loop || a == Addr::Loop2 || a == Addr::Pass;
}

// The probe as the interpreter sees it, in this topology: the interface a
// connection leaves through follows the pod's routes (topology.hpp).
inline Packet packet_of(const Probe& pr, Fam f) {
  Packet p;
  p.direction = pr.from == Side::Peer ? Direction::Inbound : Direction::Outbound;
  p.l4 = pr.kind == Kind::Tcp ? L4::Tcp : pr.kind == Kind::Udp ? L4::Udp : L4::Other;
  p.dst = *Cidr::parse(addr(f, pr.dst));
  p.dport = pr.port;
  p.sport = pr.bind_port;
  if (pr.bind) p.src = *Cidr::parse(addr(f, *pr.bind));
  if (p.direction == Direction::Inbound) {
    p.iface = pr.dst == Addr::Pod1 ? "eth1" : "eth0";
  } else {
    p.iface = !pr.device.empty()                               ? pr.device
              : pod_side(pr.dst)                               ? "lo"
              : pr.dst == Addr::Peer1 || pr.dst == Addr::Other ? "eth1"
                                                               : "eth0";
    p.uid = pr.uid.value_or(0);  // the test runner is root
    p.gid = pr.gid.value_or(0);
  }
  return p;
}

// The listener that answers on `port` at the destination when nothing
// captured the probe (topology.hpp's listeners).
inline std::string direct_listener(const Probe& pr) {
  bool udp = pr.kind == Kind::Udp;
  if (pod_side(pr.dst)) {
    if (udp) return pr.port == 53 ? "local-resolver" : "udp-app";
    return "app";
  }
  if (udp) return pr.port == 53 ? "resolver" : "udp-server";
  return pr.port == 53 ? "resolver" : "server";
}

// What a probe must show, per the interpreter.
struct Landing {
  std::string who;
  uint16_t at_port = 0;
  bool local_is_dst = false;
  friend bool operator==(const Landing&, const Landing&) = default;
};

inline std::string to_string(const Landing& l) {
  return "who=" + l.who + " port=" + std::to_string(l.at_port) + (l.local_is_dst ? " local=dst" : "");
}

inline Landing landing_of(const Probe& pr, const Verdict& v) {
  if (!v.captured) return {direct_listener(pr), pr.port, true};
  std::string who = v.port == kOutboundPort  ? "outbound"
                    : v.port == kInboundPort ? "inbound"
                    : v.port == kDnsPort     ? "dns"
                                             : "port " + std::to_string(v.port);
  return {who, v.port, v.tproxy};
}

// The probe with the interpreter's expectation filled in. A probe that
// carries a hand-written expectation keeps it as a cross-check: *disagreement
// says how the two differ ("" when they agree).
inline Probe with_expectation(Probe pr, Fam f, const Plan& plan, std::string* disagreement) {
  Verdict v = classify(plan, packet_of(pr, f));
  pr.what += " [" + describe(v) + "]";
  if (pr.kind == Kind::Ping) {  // run_probe expects the echo answered, untouched
    if (v.captured) *disagreement = "the interpreter says a ping is captured: " + describe(v);
    return pr;
  }
  Landing derived = landing_of(pr, v);
  if (!pr.who.empty()) {
    Landing written{pr.who, pr.at_port, pr.local_is_dst};
    if (written != derived)
      *disagreement = "hand-written " + to_string(written) + ", interpreter " + to_string(derived);
  }
  pr.who = derived.who;
  pr.at_port = derived.at_port;
  pr.local_is_dst = derived.local_is_dst;
  pr.expect_nothing = false;
  return pr;
}

}  // namespace meshcap::traffic
