// Plan -> iptables-restore input: the plan as iptables holds it (expand_sets:
// one rule per set element, the same rules the libiptc backend programs), with
// options in iptables-save's order so the text compares line by line with a
// save.
#include <cstdio>
#include <string>

#include "meshcap/expand.hpp"
#include "meshcap/render.hpp"

namespace meshcap {

// From render_nft.cpp, so both texts share the comment and ip sections.
std::string render_ip_commands(const Plan& plan, std::optional<Family> only);
std::string render_note(std::string note);

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
// clang 14 (the fuzz build) has no aggregate deduction yet.
template <class... F>
overloaded(F...) -> overloaded<F...>;

std::string port_text(const PortRange& r) {
  return std::to_string(r.first) + (r.single() ? "" : ":" + std::to_string(r.last));
}

// One single-valued match (expand_sets has already split the sets) as
// iptables options. A port match brings its -p, which must stand before the
// match extensions, so options come back in two groups.
struct Options {
  std::string head;  // -s -d -i -o -p
  std::string tail;  // -m ...
};

void append(Options& o, const Match& m) {
  std::visit(overloaded{
                 [&](const IifMatch& x) { o.head += " -i " + x.names.at(0); },
                 [&](const OifMatch& x) { o.head += " -o " + x.names.at(0); },
                 [&](const ProtoMatch& x) { o.head += std::string(" -p ") + proto_name(x.proto); },
                 [&](const PortMatch& x) {
                   std::string p = proto_name(x.proto);
                   o.head += " -p " + p;
                   o.tail += " -m " + p + (x.source ? " --sport " : " --dport ") + port_text(x.ports.at(0));
                 },
                 [&](const AddrMatch& x) {
                   const Cidr& c = x.cidrs.at(0);
                   o.head += (x.source ? " -s " : " -d ") + c.addr_string() + "/" + std::to_string(c.prefix);
                 },
                 [&](const OwnerMatch& x) {
                   o.tail += std::string(" -m owner ") + (x.gid ? "--gid-owner " : "--uid-owner ") +
                             std::to_string(x.ids.at(0));
                 },
             },
             m);
}

std::string target(const Action& a) {
  return std::visit(
      overloaded{
          [](const ReturnAction&) { return std::string("-j RETURN"); },
          [](const JumpAction& x) { return "-j " + iptables_chain_name(x.chain); },
          [](const RedirectAction& x) {
            return "-j REDIRECT --to-ports " + std::to_string(x.port);
          },
          [](const TproxyAction& x) {
            char mark[16];
            std::snprintf(mark, sizeof mark, "0x%x", x.mark);
            return "-j TPROXY --on-port " + std::to_string(x.port) + " --tproxy-mark " + mark +
                   "/0xffffffff";
          },
          [](const CtZoneAction& x) { return "-j CT --zone " + std::to_string(x.zone); },
      },
      a);
}

// nft's tproxy leaves a packet alone when it belongs to a socket that is not
// transparent (the reply to one of the pod's own outbound connections);
// iptables' TPROXY drops it instead. Sending only new connections to TPROXY
// gives the same behaviour: later packets of a diverted connection are
// addressed to a local address and reach their socket by the normal lookup.
std::string tproxy_guard(const Action& a) {
  return std::holds_alternative<TproxyAction>(a) ? " -m state --state NEW" : "";
}

// One "-A" line of an expanded rule; expand_sets already put its matches in
// iptables-save's order.
std::string rule_line(const std::string& chain, const Rule& rule) {
  Options o;
  for (const auto& m : rule.matches) append(o, m);
  return "-A " + chain + o.head + o.tail + tproxy_guard(rule.action) + " " + target(rule.action) + "\n";
}

const char* table_name(ChainKind k) {
  switch (k) {
    case ChainKind::Nat: return "nat";
    case ChainKind::Mangle: return "mangle";
    case ChainKind::Raw: return "raw";
  }
  return "?";
}

void render_family(const Plan& plan, Family f, std::string& out) {
  bool v4 = f == Family::V4;
  out += std::string("# === ") + (v4 ? "IPv4: iptables-restore" : "IPv6: ip6tables-restore") +
         " --noflush ===\n";
  const Table* table = nullptr;
  for (const auto& t : plan.tables)
    if (t.family == f) table = &t;
  if (!table) {
    out += "# (no rules for this family)\n";
    return;
  }
  for (ChainKind kind : {ChainKind::Nat, ChainKind::Mangle, ChainKind::Raw}) {
    std::vector<const Chain*> chains;
    for (const auto& c : table->chains)
      if (c.kind == kind) chains.push_back(&c);
    if (chains.empty()) continue;
    out += std::string("*") + table_name(kind) + "\n";
    // Declaring a user chain under --noflush creates it or empties it.
    for (const Chain* c : chains) out += ":" + iptables_chain_name(c->name) + " - [0:0]\n";
    // Re-running under --noflush appends these jumps again; the extra copies
    // are harmless (the chain's verdicts are the same the second time), and
    // `meshcap apply` with the iptables backend keeps exactly one.
    for (const Chain* c : chains)
      if (c->hook)
        out += std::string("-A ") + (*c->hook == Hook::Prerouting ? "PREROUTING" : "OUTPUT") +
               " -j " + iptables_chain_name(c->name) + "\n";
    for (const Chain* c : chains) {
      std::string name = iptables_chain_name(c->name);
      for (const auto& r : c->rules) {
        if (!r.note.empty()) out += render_note(r.note);
        out += rule_line(name, r);
      }
    }
    out += "COMMIT\n";
  }
}

}  // namespace

std::string render_iptables(const Plan& plan, std::optional<Family> only) {
  std::string out;
  Plan expanded = expand_sets(plan);
  for (Family f : {Family::V4, Family::V6}) {
    if (only && *only != f) continue;
    if (!out.empty()) out += "\n";
    render_family(expanded, f, out);
  }
  out += render_ip_commands(plan, only);
  return out;
}

}  // namespace meshcap
