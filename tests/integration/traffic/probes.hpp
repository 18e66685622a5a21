// Probes: one connection (or datagram, or echo) plus where it must land.
// A probe is written once, family-neutral, with symbolic addresses, and run
// for IPv4 and IPv6 (unless marked v4-only).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "integration/traffic/agents.hpp"
#include "integration/traffic/topology.hpp"

namespace meshcap::traffic {

enum class Side { Pod, Peer };
enum class Kind { Tcp, Udp, Ping };

struct Probe {
  std::string line;  // the capture-table line it is about, e.g. "Outbound 3" (docs/capture.md)
  std::string what;  // short description
  Side from = Side::Pod;
  Kind kind = Kind::Tcp;
  Addr dst = Addr::Peer0;
  uint16_t port = 0;
  std::optional<uint32_t> uid, gid;
  std::optional<Addr> bind;
  uint16_t bind_port = 0;
  std::string device;
  bool v4_only = false;
  bool v6_only = false;
  // Ordering: probes run in list order, in one topology; most are independent,
  // a few (conntrack zones) rely on the one before.

  // Expectation: filled in from the plan's interpreter (oracle.hpp); one
  // written here by hand must agree with it.
  std::string who;       // listener name ("outbound", "app", "server", ...)
  uint16_t at_port = 0;  // its listening port
  bool check_orig = true;                 // orig == dst:port (the original destination is recoverable)
  bool local_is_dst = false;              // the accepted socket's local address is dst:port (tproxy, or not NATed)
  std::optional<Addr> remote;             // the listener saw this source address
  bool expect_nothing = false;

  // ---- builder
  Probe& pod() { from = Side::Pod; return *this; }
  Probe& peer() { from = Side::Peer; return *this; }
  Probe& udp() { kind = Kind::Udp; return *this; }
  Probe& ping(Addr a) { kind = Kind::Ping; dst = a; return *this; }
  Probe& to(Addr a, uint16_t p) { dst = a; port = p; return *this; }
  Probe& as_uid(uint32_t u) { uid = u; return *this; }
  Probe& as_gid(uint32_t g) { gid = g; return *this; }
  Probe& as(uint32_t u, uint32_t g) { uid = u; gid = g; return *this; }
  Probe& from_addr(Addr a, uint16_t p = 0) { bind = a; bind_port = p; return *this; }
  Probe& from_port(uint16_t p) { bind_port = p; return *this; }
  Probe& dev(const std::string& d) { device = d; return *this; }
  Probe& v4only() { v4_only = true; return *this; }
  Probe& v6only() { v6_only = true; return *this; }
  Probe& seen_from(Addr a) { remote = a; return *this; }
  Probe& local_dst() { local_is_dst = true; return *this; }
  // Lands on a proxy port (captured), original destination recoverable.
  Probe& captured(const std::string& name, uint16_t p) { who = name; at_port = p; return *this; }
  Probe& to_outbound() { return captured("outbound", kOutboundPort); }
  Probe& to_inbound() { return captured("inbound", kInboundPort); }
  Probe& to_dns() { return captured("dns", kDnsPort); }
  // Lands on the listener at the destination itself, untouched.
  Probe& direct(const std::string& name) { who = name; at_port = port; local_is_dst = true; return *this; }
  Probe& nothing() { expect_nothing = true; return *this; }
};

inline Probe P(std::string line, std::string what) {
  Probe p;
  p.line = std::move(line);
  p.what = std::move(what);
  return p;
}

struct Outcome {
  std::string probe;     // "[v6] Outbound 3: proxy uid to own pod IP -> fd00:248:1::2:8080"
  std::string raw;       // what the client got
  std::string normal;    // raw without ephemeral source ports, for comparing loaders
  std::string failure;   // empty when the expectation held
};

inline std::string strip_ephemeral(const std::string& raw) {
  // remote=<ip>:<port> and, for the client, nothing else varies per run.
  auto m = parse_answer(raw);
  if (m.empty()) return raw.substr(0, raw.find(" ("));  // "nothing (...)" -> "nothing"
  std::string out;
  for (auto& [k, v] : m) out += k + "=" + (k == "remote" ? endpoint_ip(v) : v) + " ";
  return out;
}

inline Outcome run_probe(const Topology& topo, const Probe& pr, Fam f) {
  Outcome o;
  std::string dst_ip = addr(f, pr.dst);
  std::string ns = pr.from == Side::Pod ? topo.pod() : topo.peer();
  o.probe = std::string("[") + fam_name(f) + "] " + pr.line + ": " + pr.what + " (" +
            (pr.from == Side::Pod ? "pod" : "peer") +
            (pr.uid ? " uid " + std::to_string(*pr.uid) : "") + (pr.gid ? " gid " + std::to_string(*pr.gid) : "") +
            (pr.bind ? " from " + addr(f, *pr.bind) : "") + (pr.bind_port ? " sport " + std::to_string(pr.bind_port) : "") +
            (pr.device.empty() ? "" : " dev " + pr.device) + " -> " +
            (pr.kind == Kind::Ping ? "ping " + dst_ip
                                   : std::string(pr.kind == Kind::Udp ? "udp " : "tcp ") + endpoint(dst_ip, pr.port)) +
            ")";
  if (pr.kind == Kind::Ping) {
    o.raw = run_ping(ns, dst_ip);
    o.normal = strip_ephemeral(o.raw);
    if (o.raw != "pong from=" + dst_ip) o.failure = "expected pong from=" + dst_ip + ", got: " + o.raw;
    return o;
  }
  ClientSpec c;
  c.netns = ns;
  c.dst = dst_ip;
  c.port = pr.port;
  c.udp = pr.kind == Kind::Udp;
  c.uid = pr.uid;
  c.gid = pr.gid;
  if (pr.bind) c.bind_addr = addr(f, *pr.bind);
  c.bind_port = pr.bind_port;
  c.device = pr.device;
  o.raw = run_client(c);
  o.normal = strip_ephemeral(o.raw);
  auto m = parse_answer(o.raw);
  std::vector<std::string> bad;
  if (pr.expect_nothing) {
    if (!m.empty()) bad.push_back("expected nothing");
  } else if (m.empty()) {
    bad.push_back("expected who=" + pr.who + " port=" + std::to_string(pr.at_port));
  } else {
    std::string want_dst = endpoint(dst_ip, pr.port);
    if (m["who"] != pr.who || m["port"] != std::to_string(pr.at_port))
      bad.push_back("expected who=" + pr.who + " port=" + std::to_string(pr.at_port));
    if (pr.kind == Kind::Tcp && pr.check_orig && m["orig"] != want_dst) bad.push_back("expected orig=" + want_dst);
    if (pr.kind == Kind::Tcp && pr.local_is_dst && m["local"] != want_dst) bad.push_back("expected local=" + want_dst);
    if (pr.kind == Kind::Udp && m["from"] != want_dst)
      bad.push_back("expected the reply from=" + want_dst + " (NAT undone)");
    if (pr.remote && endpoint_ip(m["remote"]) != addr(f, *pr.remote))
      bad.push_back("expected remote=" + addr(f, *pr.remote));
  }
  for (auto& b : bad) o.failure += (o.failure.empty() ? "" : "; ") + b;
  if (!o.failure.empty()) o.failure += "; got: " + o.raw;
  return o;
}

struct Scenario {
  std::string name;                // gtest-safe
  std::vector<std::string> flags;  // meshcap settings flags, "--flag=value" or "--switch"
  std::vector<Probe> probes;
};

}  // namespace meshcap::traffic
